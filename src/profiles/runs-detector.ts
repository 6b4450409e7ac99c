/** Whether a profile's pixel step runs the text detector (its engine tasks then get the detector pool). */
import type { ProfileRef } from "../engine/pool.js";
import type { ProfileRegistry } from "./registry.js";

export function runsDetector(registry: ProfileRegistry): (profile: ProfileRef) => boolean {
  // One request's custom profile is one object for all its instances: compiled once.
  const custom = new WeakMap<object, boolean>();
  return (profile) => {
    if ("name" in profile) return registry.get(profile.name)?.pixel?.detector === true;
    const json = profile.custom;
    if (typeof json !== "object" || json === null) return false;
    let runs = custom.get(json);
    if (runs === undefined) {
      try {
        runs = registry.compileCustom(json).pixel?.detector === true;
      } catch {
        runs = false; // the worker refuses it with the reason
      }
      custom.set(json, runs);
    }
    return runs;
  };
}
