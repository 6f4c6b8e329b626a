import { describe, expect, it } from "vitest";
import { buildAutocompleteBody, suggestValues } from "../src/autocomplete.js";

const hit = (title: string | string[], score: number) => ({ score, source: { title } });

describe("suggestValues", () => {
  it("keeps values in which every typed word starts a word", () => {
    const hits = [hit("Apple iPhone 7 case", 3), hit("Samsung Galaxy case", 2), hit("Caseology iPhone shell", 1)];
    expect(suggestValues(hits, "title", ["iph", "cas"], "iph cas", 10)).toEqual(["Apple iPhone 7 case", "Caseology iPhone shell"]);
  });

  it("puts values that start with the typed text first, then score, then length", () => {
    const hits = [hit("Case for iPhone", 9), hit("iPhone case, leather", 1), hit("iPhone case", 1), hit("Phone iPhone", 5)];
    expect(suggestValues(hits, "title", ["iphone"], "iPhone", 10)).toEqual(["iPhone case", "iPhone case, leather", "Case for iPhone", "Phone iPhone"]);
  });

  it("returns each value once, within the limit", () => {
    const hits = [hit("iPhone case", 1), hit("iPhone case", 2), hit(["iPhone stand", "iPhone dock"], 1)];
    expect(suggestValues(hits, "title", ["iph"], "iph", 2)).toEqual(["iPhone case", "iPhone dock"]);
  });

  it("checks whole typed words longer than the n-grams", () => {
    const long = "supercalifragilisticexpialidocious";
    const hits = [hit(`${long} speaker`, 1), hit("supercalifragilisticexpialidociousness amp", 1), hit("supercalifragilisticexp other", 1)];
    expect(suggestValues(hits, "title", [long], long, 10)).toEqual([`${long} speaker`, "supercalifragilisticexpialidociousness amp"]);
  });
});

describe("buildAutocompleteBody", () => {
  it("finds candidates through the edge n-grams and cuts long words", () => {
    const body = buildAutocompleteBody("title", true, ["iph", "x".repeat(30)], "iph xxx", 5, 1_000, "embedded");
    const filter = (body.query as { bool: { filter: Array<{ match: Record<string, { query: string }> }> } }).bool.filter;
    expect(filter[0]?.match["title.autocomplete"]?.query).toBe("iph");
    expect(filter[1]?.match["title.autocomplete"]?.query).toHaveLength(20);
    expect(body.size).toBe(50);
  });

  it("uses prefix queries on a field without n-grams", () => {
    const body = buildAutocompleteBody("description", false, ["wire"], "wire", 5, 1_000, "embedded");
    expect(JSON.stringify(body.query)).toContain('"prefix":{"description":{"value":"wire"}}');
    expect(JSON.stringify(body.query)).not.toContain("normalized");
  });
});
