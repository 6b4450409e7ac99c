/** The `pixel` block of a profile, compiled: what the Clean Pixel Data step does and to which instances. */

/** A fixed rectangle [x, y, width, height] in frame pixels. */
export type Rect = readonly [number, number, number, number];

/** Rectangles known to hold text on one device's frames: keyed by the device and the frame size. */
export interface PixelTemplate {
  readonly manufacturer: string;
  readonly model: string;
  readonly rows: number;
  readonly columns: number;
  /** Only when Software Versions (0018,1020) starts with this (layouts change across releases). */
  readonly softwareVersionPrefix?: string;
  readonly boxes: readonly Rect[];
  readonly note?: string;
}

export interface PixelScope {
  /** Modality (0008,0060) values scanned. */
  readonly modalities: readonly string[];
  /** SOP Class UIDs scanned whatever their modality. */
  readonly sopClasses: readonly string[];
  /** Every instance whose Burned In Annotation (0028,0301) is YES is scanned. */
  readonly burnedInAnnotationYes: boolean;
}

export interface PixelConfig {
  /**
   * The PP-OCRv4 text detector, run in the engine workers (src/pixel/detect-instance.ts) before the
   * pipeline (src/pixel/step.ts, also in the CLI); where it did not run the instance is refused.
   */
  readonly detector: boolean;
  /**
   * What the re-check after redaction detects on (src/pixel/recheck.ts): "boxes" (default) only the
   * filled boxes plus a margin (the guard), "frame" whole frames (the guard and a second pass for
   * text outside every box, at the price of a second whole-frame detection).
   */
  readonly recheck?: "boxes" | "frame";
  /** Pixels added on every side of a box before filling. */
  readonly padding: number;
  readonly scope: PixelScope;
  /** An instance in scope that no template matches (and no detector scans): "reject" (fail closed) or "pass". */
  readonly unmatched: "reject" | "pass";
  readonly templates: readonly PixelTemplate[];
  /**
   * Lossy JPEG (4.50 when the DCT-domain redactor cannot edit the stream, 12-bit 4.51) has no
   * lossless re-encoding inside its syntax: "transcode" writes JPEG Lossless SV1 (4.70; the file's
   * transfer syntax changes, the decoded image stays exactly as it was outside the boxes) or
   * "refuse" (PIXEL_LOSSY_REFUSED; also when absent).
   */
  readonly lossy?: "transcode" | "refuse";
}
