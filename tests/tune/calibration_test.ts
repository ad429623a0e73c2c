import { rejects, strictEqual } from "node:assert/strict";
import { readCalibration, TuneInputError } from "../../lib/tune/mod.ts";

Deno.test("readCalibration() takes notebook 01's serviceTimeSpec, the first file that exists", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const nb = `${dir}/notebooks_calibration.json`, top = `${dir}/calibration.json`;
    await Deno.writeTextFile(top, JSON.stringify({ service_time: "fixed:30" }));
    strictEqual(await readCalibration([`${dir}/missing.json`]), null);
    deepEqualSpec(await readCalibration([nb, top]), "fixed:30", top);
    await Deno.writeTextFile(
      nb,
      JSON.stringify({ serviceTimeSpec: "lognormal:45.2,80.1", sloMs: 200 }),
    );
    deepEqualSpec(await readCalibration([nb, top]), "lognormal:45.2,80.1", nb);
    await Deno.writeTextFile(nb, JSON.stringify({ sloMs: 200 }));
    await rejects(() => readCalibration([nb]), TuneInputError);
    await Deno.writeTextFile(nb, "{not json");
    await rejects(() => readCalibration([nb]), /not JSON/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

function deepEqualSpec(got: { spec: string; path: string } | null, spec: string, path: string) {
  strictEqual(got?.spec, spec);
  strictEqual(got?.path, path);
}
