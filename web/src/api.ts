/** The viewer's API client: GET only, errors as ApiFailure with the server's message. */

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** GETs `path` (`/api/...`) and returns its JSON; throws ApiFailure with the server's message. */
export async function get<T>(path: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, { headers: { Accept: 'application/json' } });
  } catch (e) {
    throw new ApiFailure(
      0,
      `the hmmlab server does not answer (${(e as Error).message}); is \`hmmlab serve\` running?`,
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ApiFailure(res.status, `${path}: ${res.status} ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const msg = (body as { error?: string }).error ?? `${res.status}`;
    throw new ApiFailure(res.status, msg);
  }
  return body as T;
}
