import type { z } from 'zod';
import { defaultText, rangeText, templateOf } from './registry.ts';
import type { AnyKnob, Knob, SystemContext } from './types.ts';

/**
 * Scenario schema fields built from registry entries: the knob's JSON type, its description (with
 * where it lives, the default and the range, for editors and `rxsim schema`), and the default when
 * the schema fills it in. Value checks are not here: they need the machine (driver, CPUs), so
 * resolve runs the registry's check, the same one `apply` runs.
 */

/** The text editors show for a knob. */
export function schemaDescription(knob: AnyKnob): string {
  return `${knob.description} (${knob.where}. Default: ${defaultText(knob)}. Range: ${rangeText(knob)}.)`;
}

function base<J>(knob: Knob<J, unknown, SystemContext>): z.ZodType<J, J> {
  const type = knob.type.zod() as z.ZodType<J, J>;
  return knob.type.jsonSchema ? type.meta(knob.type.jsonSchema) : type;
}

/** The knob's last path segment must be the key it is put under (a wrong key is a bug, caught at load). */
function expectKey(knob: AnyKnob, key: string): void {
  const last = templateOf(knob).at(-1);
  if (!last || !('key' in last) || last.key !== key) throw new Error(`schema key "${key}" does not match knob path ${knob.path}`);
}

/** An optional field: absent means the kernel's or driver's default (filled in by resolve). */
export function field<J>(key: string, knob: Knob<J, unknown, SystemContext>): z.ZodOptional<z.ZodType<J, J>> {
  expectKey(knob, key);
  if (knob.schemaDefault) throw new Error(`${knob.name}: the schema fills its default; use fieldWithDefault`);
  return base(knob).optional().describe(schemaDescription(knob));
}

/** A field the schema fills with the registry's (constant) default. */
export function fieldWithDefault<J>(key: string, knob: Knob<J, unknown, SystemContext>): z.ZodDefault<z.ZodType<J, J>> {
  expectKey(knob, key);
  if (!knob.schemaDefault || typeof knob.default === 'function' || knob.default === undefined) throw new Error(`${knob.name}: no constant default for the schema`);
  return base(knob)
    .default(knob.default as never)
    .describe(schemaDescription(knob));
}

/** A record's value (the key names the instance: a queue, a cgroup). */
export function requiredField<J>(knob: Knob<J, unknown, SystemContext>): z.ZodType<J, J> {
  return base(knob).describe(schemaDescription(knob));
}

/** Fields of several knobs under their last path segment (the sysctl names), all optional. */
export function fields<J>(knobs: readonly Knob<J, unknown, SystemContext>[]): Record<string, z.ZodOptional<z.ZodType<J, J>>> {
  return Object.fromEntries(
    knobs.map((k) => {
      const last = templateOf(k).at(-1)!;
      const key = 'key' in last ? last.key : k.name;
      return [key, field(key, k)];
    }),
  );
}
