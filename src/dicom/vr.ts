/** Value Representations (PS3.5 6.2) and the encoding facts this project needs about them. */

export const KNOWN_VRS = new Set([
  "AE",
  "AS",
  "AT",
  "CS",
  "DA",
  "DS",
  "DT",
  "FD",
  "FL",
  "IS",
  "LO",
  "LT",
  "OB",
  "OD",
  "OF",
  "OL",
  "OV",
  "OW",
  "PN",
  "SH",
  "SL",
  "SQ",
  "SS",
  "ST",
  "SV",
  "TM",
  "UC",
  "UI",
  "UL",
  "UN",
  "UR",
  "US",
  "UT",
  "UV",
]);

/** VRs whose explicit-VR header has 2 reserved bytes and a 32-bit length (PS3.5 Table 7.1-1). */
export const LONG_LENGTH_VRS = new Set([
  "OB",
  "OD",
  "OF",
  "OL",
  "OV",
  "OW",
  "SQ",
  "SV",
  "UC",
  "UN",
  "UR",
  "UT",
  "UV",
]);

export const STRING_VRS = new Set([
  "AE",
  "AS",
  "CS",
  "DA",
  "DS",
  "DT",
  "IS",
  "LO",
  "LT",
  "PN",
  "SH",
  "ST",
  "TM",
  "UC",
  "UI",
  "UR",
  "UT",
]);

/** String VRs whose bytes depend on Specific Character Set (PS3.5 6.1.2.3); the rest are plain ASCII. */
export const CHARSET_VRS = new Set(["LO", "LT", "PN", "SH", "ST", "UC", "UT"]);

/** Text VRs where a backslash is an ordinary character, not a value separator. */
export const SINGLE_VALUE_TEXT_VRS = new Set(["LT", "ST", "UT", "UR"]);

/** UI values are padded with NUL, other strings with a space (PS3.5 6.2). */
export const paddingByte = (vr: string): number => (vr === "UI" ? 0x00 : STRING_VRS.has(vr) ? 0x20 : 0x00);

/** Width in bytes of one value of a fixed-size binary VR, or undefined. */
export const BINARY_WIDTH: Record<string, number> = {
  AT: 4,
  FD: 8,
  FL: 4,
  SL: 4,
  SS: 2,
  SV: 8,
  UL: 4,
  US: 2,
  UV: 8,
};

/**
 * dcmjs's dictionary uses lower-case pseudo VRs for attributes whose VR depends on context
 * ("ox" = OB or OW, "xs" = US or SS, "lt" = US, SS or OW, "up" = UL). For an implicit-VR file only the
 * length rule matters, so pick the PS3.5 Implicit VR default.
 */
export function implicitVrFromDictionary(vr: string | undefined): string {
  switch (vr) {
    case undefined:
    case "na":
      return "UN";
    case "ox":
    case "lt":
      return "OW";
    case "xs":
      return "US";
    case "up":
      return "UL";
    default:
      return vr;
  }
}
