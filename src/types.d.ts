// dcmjs ships no type declarations. It is a dev dependency: the source of src/dicom/dictionary.json
// (scripts/generate-dictionary.ts), the independent parser in the tests, and the naive bench baseline.
declare module "dcmjs";
