/** The identifying header of an instance (study, series, SOP, modality), read without copying. */
import { readPart10 } from "./part10.js";
import { MODALITY, SERIES_INSTANCE_UID, SOP_CLASS_UID, SOP_INSTANCE_UID, STUDY_INSTANCE_UID } from "./tag.js";
import { asciiValue } from "./values.js";

export interface InstanceHeader {
  readonly studyInstanceUID: string;
  readonly seriesInstanceUID: string;
  readonly sopClassUID: string;
  readonly sopInstanceUID: string;
  readonly modality: string;
}

/** Throws DicomParseError when the bytes are not a readable dataset. */
export function readInstanceHeader(data: Buffer): InstanceHeader {
  const { dataset } = readPart10(data);
  const value = (tag: number) => asciiValue(dataset.find((e) => e.tag === tag)?.value);
  return {
    studyInstanceUID: value(STUDY_INSTANCE_UID),
    seriesInstanceUID: value(SERIES_INSTANCE_UID),
    sopClassUID: value(SOP_CLASS_UID),
    sopInstanceUID: value(SOP_INSTANCE_UID),
    modality: value(MODALITY),
  };
}
