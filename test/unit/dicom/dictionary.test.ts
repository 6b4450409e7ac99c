import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { dictionaryRows, serializeDictionary } from "../../../scripts/generate-dictionary.js";
import { implicitVrOf, keywordOf, tagOfKeyword } from "../../../src/dicom/dictionary.js";
import { ROOT } from "../../helpers/corpus.js";

describe("the data dictionary", () => {
  it("src/dicom/dictionary.json is exactly dcmjs's dictionary (npm run generate:dictionary)", () => {
    expect(fs.readFileSync(path.join(ROOT, "src/dicom/dictionary.json"), "utf8")).toBe(
      serializeDictionary(dictionaryRows()),
    );
  });

  it("answers tags, keywords and implicit VRs, including repeating groups", () => {
    expect(keywordOf(0x00100010)).toBe("PatientName");
    expect(tagOfKeyword("PatientAge")).toBe(0x00101010);
    expect(implicitVrOf(0x60023000)).toBe("OW"); // Overlay Data in group 6002 (60xx)
    expect(implicitVrOf(0x00291010)).toBe("UN"); // private
  });
});
