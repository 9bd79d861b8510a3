/** Cost profile files: loading (pure), recording in stored runs (pure), reading from disk. */
export { type LoadProfileOptions, loadProfile, type ProfileLoadResult } from './load.js';
export { formatProfileError, type ReadProfileResult, readProfileRef, resolveConfigProfile } from './read.js';
export {
  applyRecordedProfile,
  type ProfileChoice,
  type RecordedProfileResult,
  recordedProfile,
} from './record.js';
