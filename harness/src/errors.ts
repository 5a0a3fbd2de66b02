/**
 * An error of the `fer` commands that is not a library's: a `code` (E_RUN_EXISTS, E_USAGE, E_BAD_IMAGE, ...; shared situations use the codes of docs/architecture.md, 'Error codes') and
 * a message saying what was got, what was expected and how to fix it. The CLI prints the message once.
 */
export class FerCliError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FerCliError';
    this.code = code;
  }
}
