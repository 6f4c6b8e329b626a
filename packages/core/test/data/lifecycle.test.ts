import { describe, expect, it } from "vitest";
import { assertTransition } from "../../src/data/lifecycle.js";
import { assertSlug, slugify } from "../../src/data/slug.js";
import { InvalidTransitionError, ValidationError } from "../../src/errors.js";

describe("assertTransition", () => {
  it("allows the documented flow", () => {
    const flow = ["draft", "active", "processing", "confirmed", "fulfilled", "complete"] as const;
    for (let i = 0; i < flow.length - 1; i++) {
      expect(() => assertTransition(flow[i] as (typeof flow)[number], flow[i + 1])).not.toThrow();
    }
    expect(() => assertTransition("active", "cancelled")).not.toThrow();
    expect(() => assertTransition("processing", "cancelled")).not.toThrow();
  });

  it("rejects a skipped step and lists allowed targets", () => {
    try {
      assertTransition("active", "fulfilled");
      expect.fail("no error");
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidTransitionError);
      expect((error as InvalidTransitionError).message).toBe("Cannot move an engagement from active to fulfilled: allowed from active: processing, cancelled.");
      expect((error as InvalidTransitionError).details.allowed).toEqual(["processing", "cancelled"]);
    }
  });

  it("rejects any change from a final status", () => {
    expect(() => assertTransition("complete", "active")).toThrow(/complete is final/);
    expect(() => assertTransition("confirmed", "cancelled")).toThrow(InvalidTransitionError);
    expect(() => assertTransition("cancelled", "active")).toThrow(InvalidTransitionError);
  });

  it("rejects an unknown status", () => {
    expect(() => assertTransition("draft", "shipped")).toThrow(ValidationError);
    expect(() => assertTransition("draft", "toString")).toThrow(ValidationError);
  });
});

describe("slugify", () => {
  it("builds URL slugs", () => {
    expect(slugify("Sony 65\" BRAVIA XR OLED TV")).toBe("sony-65-bravia-xr-oled-tv");
    expect(slugify("Café & Crème")).toBe("cafe-and-creme");
    expect(slugify("  --Hello__World--  ")).toBe("hello-world");
  });

  it("cuts long text at a hyphen", () => {
    const slug = slugify("word ".repeat(40));
    expect(slug.length).toBeLessThanOrEqual(96);
    expect(slug.endsWith("-")).toBe(false);
    expect(slug.endsWith("word")).toBe(true);
  });

  it("rejects text without letters or digits", () => {
    expect(() => slugify("!!!")).toThrow(/Pass an explicit slug/);
  });

  it("validates explicit slugs", () => {
    expect(() => assertSlug("good-slug-1")).not.toThrow();
    for (const bad of ["Bad", "double--hyphen", "-lead", "trail-", "sp ace", "", 5]) {
      expect(() => assertSlug(bad), String(bad)).toThrow(ValidationError);
    }
  });
});
