// dcmjs ships no type declarations; we use only its data dictionary and its parser (tests).
declare module "dcmjs";
