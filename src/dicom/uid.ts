/**
 * UID syntax (PS3.5 9.1): components of digits separated by dots, no leading zero in a component of
 * more than one digit, at most 64 characters. A UID that passes can be used as a file or zip entry
 * name as it is: it holds only digits and dots and never forms "." or "..".
 */

export const MAX_UID_LENGTH = 64;

const UID = /^(?:0|[1-9][0-9]*)(?:\.(?:0|[1-9][0-9]*))*$/;

export function isValidUid(uid: string): boolean {
  return uid.length > 0 && uid.length <= MAX_UID_LENGTH && UID.test(uid);
}
