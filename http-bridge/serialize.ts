/**
 * Response bodies as JSON. Core returns frozen objects from its read cache (the same object
 * for every read until something changes; ADR 0005), so a frozen object's text is kept with
 * it and reused: the object cannot change, and the text goes when the object does (a
 * WeakMap). Anything else is serialized each time.
 */
const texts = new WeakMap<object, string>();

export function serializeJson(data: unknown): string {
  if (data === null || typeof data !== "object" || !Object.isFrozen(data)) return JSON.stringify(data);
  let text = texts.get(data);
  if (text === undefined) texts.set(data, (text = JSON.stringify(data)));
  return text;
}
