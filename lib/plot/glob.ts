/**
 * A small glob expander for result-file arguments (`results/load_test_*_stats_history.csv`):
 * `*`, `?`, `[abc]` within one path segment and `**` across folders. Used because JSR's std/fs
 * cannot be reached; shells usually expand unquoted patterns anyway.
 *
 * @module
 */

/** True when the string holds glob characters. */
export function isGlob(pattern: string): boolean {
  return /[*?[]/.test(pattern);
}

function segmentRegExp(segment: string): RegExp {
  let re = "";
  for (let i = 0; i < segment.length; i++) {
    const ch = segment[i];
    if (ch === "*") re += "[^/]*";
    else if (ch === "?") re += "[^/]";
    else if (ch === "[") {
      const end = segment.indexOf("]", i + 1);
      if (end === -1) re += "\\[";
      else {
        let body = segment.slice(i + 1, end);
        if (body.startsWith("!")) body = "^" + body.slice(1);
        re += `[${body.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  return new RegExp(`^${re}$`);
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}

/**
 * Expands a pattern to the matching paths, sorted. A pattern without glob characters is returned
 * as is (whether or not it exists, so the caller's "not found" message names it).
 */
export async function expandGlob(pattern: string): Promise<string[]> {
  if (!isGlob(pattern)) return [pattern];
  const absolute = pattern.startsWith("/");
  const segments = pattern.split("/").filter((s, i) => s !== "" || i === 0);
  const first = absolute ? "/" : ".";
  let current: string[] = [first];
  const startIndex = absolute ? 1 : 0;
  for (let i = startIndex; i < segments.length; i++) {
    const seg = segments[i];
    const last = i === segments.length - 1;
    const next: string[] = [];
    for (const base of current) {
      if (seg === "**") {
        // zero or more folders
        const stack = [base];
        while (stack.length > 0) {
          const dir = stack.pop() as string;
          next.push(dir);
          try {
            for await (const entry of Deno.readDir(dir)) {
              if (entry.isDirectory && !entry.name.startsWith(".")) {
                stack.push(join(dir, entry.name));
              }
            }
          } catch { /* unreadable folder: skip */ }
        }
      } else if (!isGlob(seg)) {
        const p = join(base, seg);
        if (last || (await isDir(p))) next.push(p);
      } else {
        const re = segmentRegExp(seg);
        try {
          for await (const entry of Deno.readDir(base)) {
            if (!re.test(entry.name)) continue;
            if (!last && !entry.isDirectory) continue;
            next.push(join(base, entry.name));
          }
        } catch { /* missing folder: no matches */ }
      }
    }
    current = [...new Set(next)];
  }
  const out = current.filter((p) => p !== first);
  const existing: string[] = [];
  for (const p of out) {
    try {
      await Deno.stat(p);
      existing.push(p);
    } catch { /* a literal last segment that does not exist */ }
  }
  return existing.sort();
}

function join(base: string, name: string): string {
  if (base === ".") return name;
  if (base.endsWith("/")) return base + name;
  return `${base}/${name}`;
}
