import { readFileSync } from "node:fs";
import { components } from "@orama/orama";
import { describe, expect, it } from "vitest";
import { distinctWords, words } from "../src/text.js";

// The embedded search's tokenizer: Orama's English one with its defaults.
const orama = components.tokenizer.createTokenizer({ language: "english" });

const TRICKY = [
  "AT&T GoPhone - Samsung Galaxy Express 3 4G LTE",
  "Apple® iPhone® 7 Plus — Café Crème",
  "USB-C to USB-A cable, 1m (3.3')",
  "Women's \"Trail\" shoes: size 8½",
  "ÀÈÉÌÒÓÙ àèéìòóù Ñandú Über",
  "brand:Zorvex (iphone OR \"case\") AND NOT title:foo~2 [1 TO 5] {!lucene} /regex.*/",
  "<script>alert(1)</script> && || ! ^ ~ * ? \\",
  "   ",
  "____ ---- ''''",
  "snake_case kebab-case O'Reilly 100% 3.5mm",
];

describe("words", () => {
  it("splits like the embedded search's tokenizer", () => {
    for (const text of TRICKY) {
      expect(distinctWords(text), `words of ${JSON.stringify(text)}`).toEqual(orama.tokenize(text));
    }
  });

  it("splits every catalogue title and description alike", () => {
    const records = JSON.parse(readFileSync(new URL("../../../apps/reference/data/typesense-ecommerce/products.json", import.meta.url), "utf8")) as Array<{
      name: string;
      description?: string;
    }>;
    let checked = 0;
    for (const record of records.slice(0, 400)) {
      for (const text of [record.name, record.description ?? ""]) {
        expect(distinctWords(text), `words of ${JSON.stringify(text.slice(0, 60))}`).toEqual(orama.tokenize(text));
        checked++;
      }
    }
    expect(checked).toBe(800);
  });

  it("keeps repeated words in order", () => {
    expect(words("Case for Samsung, by Samsung")).toEqual(["case", "for", "samsung", "by", "samsung"]);
    expect(distinctWords("Case for Samsung, by Samsung")).toEqual(["case", "for", "samsung", "by"]);
  });

  it("removes the accents Orama removes", () => {
    expect(words("Crème brûlée à la carte")).toEqual(["creme", "br", "lee", "a", "la", "carte"]);
  });
});
