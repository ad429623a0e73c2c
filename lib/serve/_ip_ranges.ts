/**
 * IP address parsing and the table of address ranges the image fetcher refuses to connect to
 * (loopback, private, link-local, cloud metadata, ...), for IPv4, IPv6 and the IPv6 forms that
 * embed an IPv4 address. Private to lib/serve; the public entry point is `isRefusedAddress` in
 * image_fetcher.ts.
 *
 * @module
 */

/** A parsed address: 4 bytes for IPv4, 16 for IPv6. */
export type IpBytes = Uint8Array;

/** Parses a strict dotted-quad IPv4 address (`1.2.3.4`, no leading zeros, no other spellings). */
export function parseIPv4(text: string): IpBytes | null {
  const parts = text.split(".");
  if (parts.length !== 4) return null;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i];
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    out[i] = value;
  }
  return out;
}

/**
 * Parses an IPv6 address (`::1`, `2001:db8::1`, `::ffff:127.0.0.1`, optionally in brackets and
 * with a `%zone` suffix, which is ignored) into 16 bytes.
 */
export function parseIPv6(text: string): IpBytes | null {
  let s = text;
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  if (s.length < 2 || s.length > 45 || !/^[0-9a-fA-F:.]+$/.test(s)) return null;
  // A trailing dotted IPv4 takes the place of the last two groups.
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  if (s.includes(".")) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (!v4) return null;
    tail = [(v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]];
    // Keep what precedes the IPv4 part ("::ffff:" -> "::ffff", "::" stays "::").
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith("::")) s = s.slice(0, -1);
  }
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === "") return [];
    const groups = part.split(":");
    const values: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      values.push(parseInt(g, 16));
    }
    return values;
  };
  const head = parseGroups(halves[0]);
  const rest = halves.length === 2 ? parseGroups(halves[1]) : [];
  if (!head || !rest) return null;
  const groups: number[] = [];
  if (halves.length === 2) {
    const missing = 8 - head.length - rest.length - tail.length;
    if (missing < 1) return null;
    groups.push(...head, ...new Array(missing).fill(0), ...rest, ...tail);
  } else {
    groups.push(...head, ...tail);
  }
  if (groups.length !== 8) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** Formats 4 or 16 address bytes as text (IPv6 in its compressed, RFC 5952 form). */
export function formatIp(bytes: IpBytes): string {
  if (bytes.length === 4) return bytes.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i] << 8) | bytes[i + 1]);
  // Longest run of >= 2 zero groups becomes "::".
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

interface Range {
  bytes: IpBytes;
  prefix: number;
  reason: string;
}

function range(cidr: string, reason: string): Range {
  const [addr, prefix] = cidr.split("/");
  const bytes = parseIPv4(addr) ?? parseIPv6(addr);
  if (!bytes) throw new Error(`bad range ${cidr}`);
  return { bytes, prefix: Number(prefix), reason };
}

function inRange(ip: IpBytes, r: Range): boolean {
  if (ip.length !== r.bytes.length) return false;
  let bits = r.prefix;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i] & mask) !== (r.bytes[i] & mask)) return false;
  }
  return true;
}

// Order matters: the first matching range gives the reason (specific before general).
const IPV4_REFUSED: Range[] = [
  range("169.254.169.254/32", "cloud metadata"),
  range("168.63.129.16/32", "cloud metadata"), // Azure wire server
  range("100.100.100.200/32", "cloud metadata"), // Alibaba Cloud
  range("0.0.0.0/32", "unspecified"),
  range("0.0.0.0/8", "this network"),
  range("10.0.0.0/8", "private"),
  range("172.16.0.0/12", "private"),
  range("192.168.0.0/16", "private"),
  range("127.0.0.0/8", "loopback"),
  range("169.254.0.0/16", "link-local"),
  range("100.64.0.0/10", "CGNAT"),
  range("192.0.0.0/24", "reserved"),
  range("192.0.2.0/24", "documentation"),
  range("198.51.100.0/24", "documentation"),
  range("203.0.113.0/24", "documentation"),
  range("192.88.99.0/24", "reserved"),
  range("198.18.0.0/15", "benchmarking"),
  range("224.0.0.0/4", "multicast"),
  range("255.255.255.255/32", "broadcast"),
  range("240.0.0.0/4", "reserved"),
];

const IPV6_REFUSED: Range[] = [
  range("::/128", "unspecified"),
  range("::1/128", "loopback"),
  range("fd00:ec2::254/128", "cloud metadata"), // AWS IMDS over IPv6
  range("64:ff9b:1::/48", "reserved"), // local-use NAT64
  range("100::/64", "reserved"), // discard-only
  range("2001::/32", "Teredo"),
  range("2001:db8::/32", "documentation"),
  range("3fff::/20", "documentation"),
  range("2001::/23", "reserved"), // IETF protocol assignments
  range("fc00::/7", "private"),
  range("fe80::/10", "link-local"),
  range("fec0::/10", "private"), // deprecated site-local
  range("ff00::/8", "multicast"),
];

const GLOBAL_UNICAST_V6 = range("2000::/3", "");

function reasonV4(ip: IpBytes): string | null {
  for (const r of IPV4_REFUSED) if (inRange(ip, r)) return r.reason;
  return null;
}

/** IPv6 forms that carry an IPv4 address: which bytes hold it and what the form is called. */
const EMBEDDING_FORMS: { range: Range; offset: number; refuseAlways: boolean }[] = [
  { range: range("::ffff:0:0/96", "IPv4-mapped IPv6"), offset: 12, refuseAlways: false },
  { range: range("::ffff:0:0:0/96", "IPv4-translated IPv6"), offset: 12, refuseAlways: false },
  { range: range("64:ff9b::/96", "NAT64 IPv6"), offset: 12, refuseAlways: false },
  { range: range("2002::/16", "6to4 IPv6"), offset: 2, refuseAlways: false },
  // Deprecated (RFC 4291 §2.5.5.1); nothing legitimate uses it, so it is always refused.
  { range: range("::/96", "IPv4-compatible IPv6"), offset: 12, refuseAlways: true },
];

function reasonV6(ip: IpBytes): string | null {
  // :: and ::1 sit inside ::/96 but are reported as themselves.
  for (const r of IPV6_REFUSED.slice(0, 2)) if (inRange(ip, r)) return r.reason;
  for (const form of EMBEDDING_FORMS) {
    if (!inRange(ip, form.range)) continue;
    const v4 = ip.slice(form.offset, form.offset + 4);
    const inner = reasonV4(v4);
    if (inner) return `${form.range.reason} of ${inner} (${formatIp(v4)})`;
    if (form.refuseAlways) return `${form.range.reason} (deprecated) of ${formatIp(v4)}`;
    return null;
  }
  for (const r of IPV6_REFUSED) if (inRange(ip, r)) return r.reason;
  if (!inRange(ip, GLOBAL_UNICAST_V6)) return "reserved";
  return null;
}

/**
 * Why connecting to `ip` is refused, or `null` when it is an ordinary public address.
 * Accepts dotted-quad IPv4, IPv6 (bracketed or not, with or without `%zone`), and the other
 * IPv4 spellings a URL parser accepts (`2130706433`, `0177.0.0.1`, `0x7f000001`, `127.1`), which
 * are reported with their canonical form. Anything that is not an IP address is refused too
 * ("not an IP address"), so a host name passed by mistake never counts as safe.
 */
export function refusedReason(ip: string): string | null {
  const v4 = parseIPv4(ip);
  if (v4) return reasonV4(v4);
  const v6 = parseIPv6(ip);
  if (v6) return reasonV6(v6);
  const canonical = canonicalIPv4(ip);
  if (canonical) {
    const reason = reasonV4(parseIPv4(canonical)!);
    return reason ? `${reason} (${canonical} written as ${ip})` : null;
  }
  return "not an IP address";
}

/**
 * The dotted-quad form of an IPv4 address written in one of the legacy spellings the WHATWG URL
 * parser accepts (decimal, octal, hex, fewer than 4 parts), or `null` when `text` is not one.
 */
export function canonicalIPv4(text: string): string | null {
  if (text === "" || !/^[0-9a-fA-FxX.]+$/.test(text)) return null;
  try {
    const host = new URL(`http://${text}/`).hostname;
    return parseIPv4(host) ? host : null;
  } catch {
    return null;
  }
}

/** True when `text` is an IP literal (IPv4 dotted quad or IPv6, brackets allowed). */
export function isIpLiteral(text: string): boolean {
  return parseIPv4(text) !== null || parseIPv6(text) !== null;
}
