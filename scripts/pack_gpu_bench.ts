/**
 * `deno task pack-gpu-bench [--out .gpu]`
 *
 * Packs what a bare GPU machine (no Deno, no network, no Vulkan loader) needs to run
 * `scripts/gpu_bench.ts` into one ignored folder of at most 64 MiB:
 *
 * - `deno.xz`: this Deno binary, xz-compressed;
 * - `bench.js`: the benchmark bundled by `deno bundle` (the seeded ResNet-50 builder inside; the
 *   model is built there, not carried);
 * - `ort-web.tar.xz`: onnxruntime-web's WebGPU entry and the asyncify wasm it loads;
 * - `ort-node.tar.xz`: onnxruntime-node (its linux-x64 binding and library only) and
 *   onnxruntime-common, as a `node_modules` tree;
 * - `libvulkan1_*.deb`: Debian's Vulkan loader, fetched with `apt-get download` (amd64);
 * - `run.sh`: unpacks all of it under /tmp and runs the benchmark, writing into `$OUT` (or
 *   `results/gpu_bench`). Run it from the folder's parent: `bash .gpu/run.sh`.
 *
 * Nothing here is committed: the folder is git-ignored (`/.gpu/`). `docs/backends.md` has the
 * whole procedure.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const LIMIT_BYTES = 64 * 1024 * 1024;
/**
 * Debian packages the GPU machine lacks: the Vulkan loader, and GLVND (NVIDIA's Vulkan ICD lives
 * in libGLX_nvidia, which cannot create an instance without libGLdispatch: the loader then says
 * "Could not get 'vkCreateInstance' via 'vk_icdGetInstanceProcAddr'").
 */
const DEBS = ["libvulkan1", "libglvnd0", "libglx0", "libegl1", "libgl1", "libopengl0", "libgles2"];

function fail(message: string): never {
  console.error(`pack-gpu-bench: ${message}`);
  Deno.exit(2);
}

async function sh(cmd: string[], opts: { cwd?: string } = {}): Promise<void> {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    cwd: opts.cwd,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!out.success) fail(`\`${cmd.join(" ")}\` failed (exit ${out.code})`);
}

/** The real folder of an npm package in node_modules (Deno's layout links them). */
async function packageDir(root: string, name: string): Promise<string> {
  const path = await Deno.realPath(join(root, "node_modules", name)).catch(() => null);
  if (!path) fail(`node_modules/${name} is missing; run \`deno install\` first`);
  return path;
}

const RUN_SH = `#!/bin/bash
# Runs the GPU benchmark from this folder on a bare Linux x86-64 machine. Usage: bash .gpu/run.sh [args]
set -euo pipefail
here="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
tmp=/tmp/gpu_bench_pack
mkdir -p "$tmp/vk" "$tmp/ort-web" "$tmp/ort-node"
[ -x "$tmp/deno" ] || { xz -dc "$here/deno.xz" > "$tmp/deno"; chmod +x "$tmp/deno"; }
tar -xJf "$here/ort-web.tar.xz" -C "$tmp/ort-web"
tar -xJf "$here/ort-node.tar.xz" -C "$tmp/ort-node"
# Each carried library is used only where the machine has none of its own.
for f in "$here"/*.deb; do
  lib="$(basename "$f" | cut -d_ -f1)"
  case "$lib" in
    libvulkan1) so=libvulkan.so.1 ;; libglvnd0) so=libGLdispatch.so.0 ;; libglx0) so=libGLX.so.0 ;;
    libegl1) so=libEGL.so.1 ;; libgl1) so=libGL.so.1 ;; libopengl0) so=libOpenGL.so.0 ;;
    libgles2) so=libGLESv2.so.2 ;; *) so="$lib" ;;
  esac
  ldconfig -p 2>/dev/null | grep -q "$so" || dpkg -x "$f" "$tmp/vk"
done
export LD_LIBRARY_PATH="$tmp/vk/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [ -d "$d" ] && export LD_LIBRARY_PATH="\${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$d"
done
# Pick the first Vulkan ICD with which Deno sees a real adapter (VK_ICD_FILENAMES wins if set).
probe='const a = await navigator.gpu?.requestAdapter(); console.log(a ? a.info.description + (a.info.isFallbackAdapter ? " (fallback)" : "") : "no adapter")'
if [ -z "\${VK_ICD_FILENAMES:-}" ]; then
  for icd in /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json \\
    /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/*.json \\
    /usr/local/nvidia/share/vulkan/icd.d/*.json; do
    [ -f "$icd" ] || continue
    seen="$(VK_ICD_FILENAMES="$icd" VK_DRIVER_FILES="$icd" "$tmp/deno" eval --no-config "$probe" 2>&1 | tail -1)"
    echo "run.sh: ICD $icd -> $seen"
    case "$seen" in "no adapter"*|*fallback*|*rror*) ;; *) export VK_ICD_FILENAMES="$icd" VK_DRIVER_FILES="$icd"; break ;; esac
  done
fi
echo "run.sh: VK_ICD_FILENAMES=\${VK_ICD_FILENAMES:-unset} LD_LIBRARY_PATH=\${LD_LIBRARY_PATH:-unset}"
out="\${OUT:-results/gpu_bench}"
exec "$tmp/deno" run --allow-all --no-config --v8-flags=--max-old-space-size=8192 "$here/bench.js" \\
  --out "$out" --ort-web-dir "$tmp/ort-web" --ort-node-dir "$tmp/ort-node/node_modules/onnxruntime-node" "$@"
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { out: { type: "string", default: ".gpu" }, help: { type: "boolean" } },
  });
  if (values.help) {
    console.log("usage: deno task pack-gpu-bench [--out .gpu]");
    return;
  }
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const out = resolve(values.out);
  await Deno.mkdir(out, { recursive: true });

  console.log("pack-gpu-bench: bundling scripts/gpu_bench.ts");
  await sh([
    Deno.execPath(),
    "bundle",
    "--platform",
    "deno",
    "-o",
    join(out, "bench.js"),
    join(
      root,
      "scripts/gpu_bench.ts",
    ),
  ], { cwd: root });

  const denoXz = join(out, "deno.xz");
  const denoStat = await Deno.stat(Deno.execPath());
  const stamp = join(out, "deno.xz.source");
  const want = `${Deno.execPath()} ${denoStat.size} ${Deno.version.deno}`;
  const have = await Deno.readTextFile(stamp).catch(() => "");
  if (have !== want) {
    console.log("pack-gpu-bench: compressing the Deno binary (about a minute)");
    await sh(["bash", "-c", `xz -T0 -6 -c '${Deno.execPath()}' > '${denoXz}'`]);
    await Deno.writeTextFile(stamp, want);
  }

  const web = join(await packageDir(root, "onnxruntime-web"), "dist");
  console.log("pack-gpu-bench: onnxruntime-web (webgpu entry + asyncify wasm)");
  await sh([
    "tar",
    "-cJf",
    join(out, "ort-web.tar.xz"),
    "-C",
    web,
    "ort.webgpu.bundle.min.mjs",
    "ort-wasm-simd-threaded.asyncify.mjs",
    "ort-wasm-simd-threaded.asyncify.wasm",
  ]);

  console.log("pack-gpu-bench: onnxruntime-node (linux x64) + onnxruntime-common");
  const stage = await Deno.makeTempDir({ prefix: "pack_gpu_bench_" });
  try {
    const nodeDir = await packageDir(root, "onnxruntime-node");
    // Deno's node_modules places a package's dependencies beside it.
    const commonDir = await Deno.realPath(join(nodeDir, "..", "onnxruntime-common"));
    const dst = join(stage, "node_modules");
    await Deno.mkdir(join(dst, "onnxruntime-node/bin/napi-v6/linux"), { recursive: true });
    await sh([
      "cp",
      "-r",
      join(nodeDir, "package.json"),
      join(nodeDir, "dist"),
      join(
        dst,
        "onnxruntime-node",
      ),
    ]);
    await sh([
      "cp",
      "-r",
      join(nodeDir, "bin/napi-v6/linux/x64"),
      join(
        dst,
        "onnxruntime-node/bin/napi-v6/linux/",
      ),
    ]);
    await sh(["cp", "-r", commonDir, join(dst, "onnxruntime-common")]);
    await sh(["tar", "-cJf", join(out, "ort-node.tar.xz"), "-C", stage, "node_modules"]);
  } finally {
    await Deno.remove(stage, { recursive: true });
  }

  const debs = [...Deno.readDirSync(out)].filter((e) => /\.deb$/.test(e.name));
  if (debs.length < DEBS.length) {
    console.log(`pack-gpu-bench: apt-get download ${DEBS.join(" ")} (amd64)`);
    const lists = "/tmp/pack_gpu_bench_apt_amd64";
    await Deno.mkdir(`${lists}/partial`, { recursive: true });
    const o = [
      "-oAPT::Architecture=amd64",
      "-oAPT::Architectures=amd64",
      `-oDir::State::Lists=${lists}`,
    ];
    await sh(["apt-get", ...o, "update", "-qq"]);
    await sh(["apt-get", ...o, "download", ...DEBS], { cwd: out });
  }

  await Deno.writeTextFile(join(out, "run.sh"), RUN_SH, { mode: 0o755 });
  let total = 0;
  const lines: string[] = [];
  for (const e of Deno.readDirSync(out)) {
    const size = (await Deno.stat(join(out, e.name))).size;
    total += size;
    lines.push(`  ${e.name.padEnd(40)} ${(size / 1048576).toFixed(1).padStart(6)} MiB`);
  }
  console.log(lines.sort().join("\n"));
  console.log(`pack-gpu-bench: ${out}: ${(total / 1048576).toFixed(1)} MiB in all`);
  if (total > LIMIT_BYTES) fail(`the folder is over 64 MiB (${total} bytes)`);
}

if (import.meta.main) await main();
