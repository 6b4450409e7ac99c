import { describe, expect, it } from "vitest";
import { charsetOf, decodeText, encodeText } from "../../../src/dicom/charset.js";
import { readPart10 } from "../../../src/dicom/part10.js";
import { tagOf } from "../../../src/dicom/tag.js";
import { instance, leaf } from "../../helpers/build.js";
import { corpusFile } from "../../helpers/corpus.js";
import { anonymized, REGISTRY } from "../../helpers/engine.js";

describe("character sets", () => {
  it("decodes ISO 2022 IR 87 (Japanese) with its escape sequences", () => {
    const file = readPart10(corpusFile("charset-japanese-iso2022-ir87.dcm"));
    const name = file.dataset.find((e) => e.tag === tagOf(0x0010, 0x0010))!;
    const charset = charsetOf(
      Buffer.from(file.dataset.find((e) => e.tag === 0x00080005)!.value!).toString("latin1"),
    );
    expect(charset.known).toBe(true);
    expect(decodeText(name.value!, charset)).toMatch(/Yamada\^Tarou=山田\^太郎=やまだ\^たろう/);
  });

  it("decodes ISO_IR 144 (Cyrillic) and encodes back into it", () => {
    const file = readPart10(corpusFile("charset-cyrillic-iso-ir-144.dcm"));
    const name = file.dataset.find((e) => e.tag === tagOf(0x0010, 0x0010))!;
    const charset = charsetOf("ISO_IR 144");
    const text = decodeText(name.value!, charset);
    expect(text).toMatch(/Люкceмбypг/);
    expect(
      encodeText(text.trim(), charset)?.equals(
        Buffer.from(name.value!).subarray(0, encodeText(text.trim(), charset)!.length),
      ),
    ).toBe(true);
  });

  it("reads the common misspelling ISO-IR 100 as ISO_IR 100", () => {
    expect(charsetOf("ISO-IR 100")).toMatchObject({ direct: "latin1", known: true });
  });

  it("never writes bytes the declared character set cannot hold", () => {
    expect(encodeText("Müller", charsetOf(""))).toBeUndefined(); // default repertoire is ASCII
    expect(encodeText("Müller", charsetOf("ISO_IR 100"))).toEqual(Buffer.from("Müller", "latin1"));
    expect(encodeText("山田", charsetOf("\\ISO 2022 IR 87"))).toBeUndefined();
    expect(encodeText("ANON", charsetOf("\\ISO 2022 IR 87"))).toEqual(Buffer.from("ANON"));
  });

  it("cleans a Cyrillic description in its own character set", () => {
    const plan = REGISTRY.compileCustom({
      name: "c",
      description: "c",
      version: "0",
      rules: [{ tag: "(0008,1030)", action: "cleanText" }],
    });
    const description = leaf(0x00081030, "LO", "Обследование 2020-03-15", "latin1");
    // Encode the description in ISO-8859-5 by hand (what a Cyrillic modality would send).
    const bytes = encodeText("Обследование 2020-03-15", charsetOf("ISO_IR 144"))!;
    const input = instance([leaf(0x00080005, "CS", "ISO_IR 144"), { ...description, value: bytes }]);
    const out = readPart10(anonymized(input, plan).output).dataset.find((e) => e.tag === 0x00081030)!;
    expect(decodeText(out.value!, charsetOf("ISO_IR 144")).trim()).toBe("Обследование");
  });

  it("refuses a character set it does not know (fail closed)", () => {
    const input = instance([leaf(0x00080005, "CS", "ISO_IR 999"), leaf(0x00100010, "PN", "X")]);
    const plan = REGISTRY.get("hipaa")!;
    expect(() => anonymized(input, plan)).toThrow(/unsupported Specific Character Set/);
  });
});
