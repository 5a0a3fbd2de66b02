/** Machine-readable error codes of @fer/data. Branch on `code`, not `instanceof`. */
export type FerDataErrorCode =
  | 'E_EMPTY_INPUT' // empty file, or no data rows / images
  | 'E_BAD_HEADER' // CSV header: a required column missing, an unknown (e.g. misspelled) or duplicate column
  | 'E_BAD_ROW' // wrong number of fields in a CSV row
  | 'E_BAD_PIXELS' // wrong pixel count, non-numeric or out-of-range pixel value
  | 'E_BAD_LABEL' // label outside 0-6, non-numeric or empty
  | 'E_BAD_USAGE' // unknown Usage / split name
  | 'E_TRUNCATED' // the file ends early: truncated .gz, or a tar member shorter than its header declares
  | 'E_CORRUPT' // damaged compressed data or archive: bad gzip data or checksum, bad tar header checksum
  | 'E_FS' // the file or folder cannot be read
  | 'E_BAD_IMAGE' // an image in an image folder cannot be decoded
  | 'E_UNKNOWN_FORMAT' // loadDataset cannot tell the format
  | 'E_FERPLUS_MISMATCH' // FER+ file does not line up with the FER2013 rows
  | 'E_BAD_OPTION' // bad option: unknown key, wrong type or value
  | 'E_BAD_INDEX' // a row index outside the data set
  | 'E_BAD_JSON'; // normalizerFromJSON got something else

/**
 * The one error class of @fer/data. The message says what was got, what was expected and how to fix it.
 * @example
 * try { await loadDataset('fer2013.csv'); }
 * catch (e) { if ((e as FerDataError).code === 'E_BAD_PIXELS') console.error((e as Error).message); }
 */
export class FerDataError extends Error {
  readonly code: FerDataErrorCode;
  constructor(code: FerDataErrorCode, message: string, options?: ErrorOptions) {
    super(`[fer-data] ${message}`, options);
    this.name = 'FerDataError';
    this.code = code;
  }
}
