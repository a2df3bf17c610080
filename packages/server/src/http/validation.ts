import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";
import type { FastifySchemaCompiler } from "fastify";

// ajv-formats is CommonJS; its default import is the plugin function at run time.
const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

function makeAjv(coerceTypes: boolean | "array"): Ajv {
  // Unknown fields are refused (removeAdditional: false), never silently dropped, and a JSON body
  // is taken as sent: "1" is not a number. Query strings and paths are text, so they are coerced.
  const ajv = new Ajv({
    coerceTypes,
    removeAdditional: false,
    useDefaults: true,
    allErrors: false,
    strict: false,
  });
  addFormats(ajv);
  return ajv;
}

const bodyAjv = makeAjv(false);
const textAjv = makeAjv("array");

/** A body validator compiled exactly as the framework compiles route bodies (for the hot path). */
export function compileBodyValidator(schema: object): ValidateFunction {
  return bodyAjv.compile(schema);
}

export const validatorCompiler: FastifySchemaCompiler<object> = ({ schema, httpPart }) => {
  const ajv = httpPart === "body" ? bodyAjv : textAjv;
  return ajv.compile(schema);
};

/**
 * Whether JSON text can hold a NUL character: JSON allows one in a string only as the escape
 * `\u0000` (a raw control character is a syntax error), so text without that escape cannot.
 * This saves walking every string of a large body (an inventory) when, as always, there is none.
 */
export function mayHoldNul(json: string): boolean {
  return /\\u0000/i.test(json);
}

/** The first string anywhere in a value that holds a NUL character, as a field path. */
export function findNulString(value: unknown, path = ""): string | null {
  if (typeof value === "string") return value.includes("\u0000") ? path || "/" : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNulString(value[i], `${path}/${i}`);
      if (found) return found;
    }
    return null;
  }
  if (value !== null && typeof value === "object") {
    for (const [key, v] of Object.entries(value)) {
      if (key.includes("\u0000")) return `${path}/${key}`;
      const found = findNulString(v, `${path}/${key}`);
      if (found) return found;
    }
  }
  return null;
}
