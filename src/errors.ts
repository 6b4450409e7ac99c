/**
 * Named errors. Messages name tags, offsets and rules, never values: they reach audits, logs and
 * HTTP problem bodies.
 */

export class AnonymizerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The bytes are not a DICOM instance we can parse safely. */
export class DicomParseError extends AnonymizerError {
  constructor(message: string) {
    super("DICOM_PARSE", message);
  }
}

/** Parsed, but something in it stops a complete de-identification (fail closed). */
export class DeidentificationError extends AnonymizerError {
  constructor(message: string) {
    super("DEIDENTIFICATION", message);
  }
}

/** The de-identified output failed its own re-check; it is never released. */
export class VerificationError extends AnonymizerError {
  constructor(message: string) {
    super("VERIFICATION", message);
  }
}

/** A profile file is invalid. `where` is `file: $.json.path`. */
export class ProfileError extends AnonymizerError {
  constructor(
    readonly where: string,
    message: string,
  ) {
    super("PROFILE", `${where}: ${message}`);
  }
}
