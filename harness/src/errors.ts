/**
 * The codes of the harness's errors (FerCliError, SpecError, QueueError). The situations shared with the
 * packages use their codes (docs/architecture.md, 'Error codes'): E_BAD_OPTION for an unknown or wrong flag,
 * `--set` key or value, or config-file key; E_FS for a file that cannot be read; E_BAD_IMAGE; E_UNKNOWN_<THING>.
 */
export type FerCliErrorCode =
  | 'E_BAD_OPTION' // an unknown flag, --set key or config key, or a value of the wrong type or range
  | 'E_USAGE' // arguments missing or in the wrong place (no images for fer predict, a stray argument)
  | 'E_EMPTY_INPUT' // data without the rows a command needs (no PublicTest rows: no Usage column)
  | 'E_FS' // a file named on the command line cannot be read
  | 'E_BAD_CONFIG_FILE' // a fer.config file that does not load or does not export { models, experiments }
  | 'E_BAD_IMAGE' // fer predict: an image that cannot be decoded
  | 'E_NO_FACE' // fer predict: no face found in any of the pictures (face detection on)
  | 'E_NOT_A_FACE_CROP' // fer predict --no-detect: no picture looks like a 48x48 face crop
  | 'E_BAD_SPEC' // an experiment definition that breaks its rules
  | 'E_UNKNOWN_COMMAND' // fer trian: the nearest command is suggested
  | 'E_UNKNOWN_EXPERIMENT'
  | 'E_UNKNOWN_MODEL'
  | 'E_UNKNOWN_BENCHMARK'
  | 'E_RUN_EXISTS' // a fresh run into a folder that holds another run
  | 'E_CLASS_MISMATCH' // a model's classes do not match the data's (count, or no class name in common)
  | 'E_FOLDER_LOCKED' // a run folder another live process writes to (its lock file names the holder)
  | 'E_BAD_QUEUE_URL'
  | 'E_QUEUE_UNREACHABLE'
  | 'E_QUEUE_AUTH' // Redis answered but refused the password (or needs one)
  | 'E_WORKER_UNFIT' // fer worker: this worker cannot run jobs (unwritable --results, a model it does not know); it left the job to others
  | 'E_FENCED' // a queued job's attempt whose folder a newer attempt claimed (its queue lock had expired)
  | 'E_JOBS_FAILED'
  | 'E_RESULT_MISSING';

/**
 * An error of the `fer` commands that is not a library's: a `code` ({@link FerCliErrorCode}; shared situations use the codes of docs/architecture.md, 'Error codes') and
 * a message saying what was got, what was expected and how to fix it. The CLI prints the message once.
 */
export class FerCliError extends Error {
  readonly code: FerCliErrorCode;
  constructor(code: FerCliErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FerCliError';
    this.code = code;
  }
}
