// Small building blocks for validating parsed JSON: each one checks a value's type or a simple
// constraint and throws a SpecError naming the JSON path. `null` is never accepted in place of a
// value (Go-written configs omit empty fields instead).

import { SpecError } from './errors.js';

export type JsonObject = Record<string, unknown>;

export function fail(path: string, detail: string): never {
  throw new SpecError(path, detail);
}

/** `a.b`, or `a["x.y"]` for keys that are not plain identifiers. */
export function keyPath(path: string, key: string): string {
  if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) return path === '' ? key : `${path}.${key}`;
  return `${path}[${JSON.stringify(key)}]`;
}

export function indexPath(path: string, index: number): string {
  return `${path}[${index}]`;
}

/** A value for an error message: JSON, shortened. */
export function show(value: unknown): string {
  let text: string;
  try {
    text = value === undefined ? 'undefined' : JSON.stringify(value);
  } catch {
    text = String(value);
  }
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isPresent(obj: JsonObject, key: string): boolean {
  return obj[key] !== undefined;
}

export function expectObject(value: unknown, path: string): JsonObject {
  if (!isObject(value)) fail(path, `must be an object, got ${show(value)}`);
  return value;
}

export function expectArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) fail(path, `must be an array, got ${show(value)}`);
  return value;
}

export function expectString(value: unknown, path: string): string {
  if (typeof value !== 'string') fail(path, `must be a string, got ${show(value)}`);
  return value;
}

export function expectBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, `must be a boolean, got ${show(value)}`);
  return value;
}

export interface IntRange {
  min: number;
  max: number;
  /** How the constraint reads in a message: "must be <what>". */
  what: string;
}

const range = (min: number, max: number, what: string): IntRange => ({ min, max, what });

export const INT = {
  int32: range(-2147483648, 2147483647, 'an integer in -2147483648..2147483647'),
  int64: range(-Number.MAX_VALUE, Number.MAX_VALUE, 'an integer'),
  uint16: range(0, 65535, 'an integer in 0..65535'),
  uint32: range(0, 4294967295, 'an integer in 0..4294967295'),
  /** A uid or gid. The kernel's ids are u32, but (uid_t)-1 means "unchanged" to setresuid, so
   *  4294967295 would leave the process root; runc refuses anything above 2^31-1 (MAX_ID). */
  id: range(0, 2147483647, 'an id in 0..2147483647'),
  uint64: range(0, Number.MAX_VALUE, 'a non-negative integer'),
  positive: range(1, Number.MAX_VALUE, 'a positive integer'),
} as const;

export function expectInt(value: unknown, path: string, r: IntRange): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < r.min || value > r.max) {
    fail(path, `must be ${r.what}, got ${show(value)}`);
  }
  return value;
}

export function expectStringArray(value: unknown, path: string): string[] {
  const arr = expectArray(value, path);
  arr.forEach((v, i) => expectString(v, indexPath(path, i)));
  return arr as string[];
}

/** An object whose values are all strings (annotations, sysctl, unified); keys must not be empty. */
export function expectStringMap(value: unknown, path: string): Record<string, string> {
  const obj = expectObject(value, path);
  for (const [k, v] of Object.entries(obj)) {
    if (k === '') fail(keyPath(path, k), 'key must not be empty');
    expectString(v, keyPath(path, k));
  }
  return obj as Record<string, string>;
}

export function expectOneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], noun: string): T {
  const s = expectString(value, path);
  if (!(allowed as readonly string[]).includes(s)) fail(path, `unknown ${noun} ${show(s)}`);
  return s as T;
}

export function expectAbsolutePath(value: unknown, path: string): string {
  const s = expectString(value, path);
  if (!s.startsWith('/')) fail(path, `must be an absolute path, got ${show(s)}`);
  return s;
}

/** Strings handed to execve or written to the kernel cannot carry NUL bytes. */
export function expectNoNul(value: string, path: string): string {
  if (value.includes('\0')) fail(path, 'must not contain a NUL byte');
  return value;
}

/**
 * Field accessors for one JSON object: `opt*` return undefined when the key is absent, `req*`
 * fail with "is required".
 */
export class Fields {
  constructor(
    readonly obj: JsonObject,
    readonly path: string,
  ) {}

  static of(value: unknown, path: string): Fields {
    return new Fields(expectObject(value, path), path);
  }

  at(key: string): string {
    return keyPath(this.path, key);
  }

  has(key: string): boolean {
    return isPresent(this.obj, key);
  }

  raw(key: string): unknown {
    return this.obj[key];
  }

  required(key: string): unknown {
    if (!this.has(key)) fail(this.at(key), 'is required');
    return this.obj[key];
  }

  optObject(key: string): Fields | undefined {
    return this.has(key) ? Fields.of(this.obj[key], this.at(key)) : undefined;
  }

  reqObject(key: string): Fields {
    return Fields.of(this.required(key), this.at(key));
  }

  optArray(key: string): unknown[] | undefined {
    return this.has(key) ? expectArray(this.obj[key], this.at(key)) : undefined;
  }

  optString(key: string): string | undefined {
    return this.has(key) ? expectString(this.obj[key], this.at(key)) : undefined;
  }

  reqString(key: string): string {
    return expectString(this.required(key), this.at(key));
  }

  optBoolean(key: string): boolean | undefined {
    return this.has(key) ? expectBoolean(this.obj[key], this.at(key)) : undefined;
  }

  reqBoolean(key: string): boolean {
    return expectBoolean(this.required(key), this.at(key));
  }

  optInt(key: string, r: IntRange): number | undefined {
    return this.has(key) ? expectInt(this.obj[key], this.at(key), r) : undefined;
  }

  reqInt(key: string, r: IntRange): number {
    return expectInt(this.required(key), this.at(key), r);
  }

  optStringArray(key: string): string[] | undefined {
    return this.has(key) ? expectStringArray(this.obj[key], this.at(key)) : undefined;
  }

  optStringMap(key: string): Record<string, string> | undefined {
    return this.has(key) ? expectStringMap(this.obj[key], this.at(key)) : undefined;
  }

  optOneOf<T extends string>(key: string, allowed: readonly T[], noun: string): T | undefined {
    return this.has(key) ? expectOneOf(this.obj[key], this.at(key), allowed, noun) : undefined;
  }

  reqOneOf<T extends string>(key: string, allowed: readonly T[], noun: string): T {
    return expectOneOf(this.required(key), this.at(key), allowed, noun);
  }

  /** Each element of an optional array, as Fields of an object. */
  eachObject(key: string, visit: (item: Fields, index: number) => void): void {
    const arr = this.optArray(key);
    arr?.forEach((v, i) => visit(Fields.of(v, indexPath(this.at(key), i)), i));
  }
}
