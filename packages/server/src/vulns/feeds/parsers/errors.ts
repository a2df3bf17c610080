/**
 * The two ways a feed can be unusable. FeedFormatError: the whole file is not the format the
 * parser was asked for (not JSON, wrong header, missing envelope), so nothing in it can be trusted
 * and the import stops. RecordError: one record is malformed; the parser catches it, counts the
 * record as skipped with this message, and carries on with the next one.
 */

export class FeedFormatError extends Error {
  override readonly name = "FeedFormatError";

  /** `format` names what the file was expected to be ("NVD CVE API 2.0 page"), `problem` what is wrong. */
  constructor(
    readonly format: string,
    readonly problem: string,
  ) {
    super(`not a valid ${format}: ${problem}`);
  }
}

/** One record cannot be used; the message is the skip reason a person reads. */
export class RecordError extends Error {
  override readonly name = "RecordError";
}
