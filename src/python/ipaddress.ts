// Python 3.11.7's ipaddress, as far as MLflow's SSRF checks use it: ip_address() parsing and
// is_global, behind mlflow.utils.validation._is_public_ip (which first unwraps IPv4-mapped, 6to4
// and NAT64 addresses to the IPv4 address they carry). The network tables are the interpreter's
// own (_IPv4Constants / _IPv6Constants of the Python MLflow runs on); later Pythons changed them.

export interface IpAddress {
  version: 4 | 6;
  value: bigint;
}

/** ipaddress.ip_address(text); undefined where Python raises ValueError. A %zone is ignored. */
export function parseIp(text: string): IpAddress | undefined {
  const v4 = parseV4(text);
  if (v4 !== undefined) return { version: 4, value: v4 };
  const v6 = parseV6(text.split("%")[0]!);
  return v6 === undefined ? undefined : { version: 6, value: v6 };
}

function parseV4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    // Python rejects leading zeros (ambiguous octal) and anything but 1-3 ASCII digits
    if (!/^[0-9]{1,3}$/.test(p) || (p.length > 1 && p[0] === "0") || Number(p) > 255) return undefined;
    value = (value << 8n) | BigInt(p);
  }
  return value;
}

function parseV6(text: string): bigint | undefined {
  if (!text.includes(":")) return undefined;
  let groups = text.split(":");
  const last = groups[groups.length - 1]!;
  if (last.includes(".")) {
    const v4 = parseV4(last);
    if (v4 === undefined) return undefined;
    groups = [...groups.slice(0, -1), ((v4 >> 16n) & 0xffffn).toString(16), (v4 & 0xffffn).toString(16)];
  }
  const gap = text.indexOf("::");
  if (gap !== text.lastIndexOf("::")) return undefined;
  let words: string[];
  if (gap >= 0) {
    const joined = groups.join(":");
    const [head, tail] = [joined.slice(0, joined.indexOf("::")), joined.slice(joined.indexOf("::") + 2)];
    const h = head ? head.split(":") : [];
    const t = tail ? tail.split(":") : [];
    if (h.length + t.length > 7) return undefined;
    words = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  } else words = groups;
  if (words.length !== 8) return undefined;
  let value = 0n;
  for (const w of words) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(w)) return undefined;
    value = (value << 16n) | BigInt(parseInt(w, 16));
  }
  return value;
}

type Net = [bigint, number];
const v4 = (text: string, prefix: number): Net => [parseV4(text)!, prefix];
const v6 = (text: string, prefix: number): Net => [parseV6(text)!, prefix];

const V4_PRIVATE: Net[] = [
  v4("0.0.0.0", 8), v4("10.0.0.0", 8), v4("127.0.0.0", 8), v4("169.254.0.0", 16), v4("172.16.0.0", 12), v4("192.0.0.0", 29),
  v4("192.0.0.170", 31), v4("192.0.2.0", 24), v4("192.168.0.0", 16), v4("198.18.0.0", 15), v4("198.51.100.0", 24),
  v4("203.0.113.0", 24), v4("240.0.0.0", 4), v4("255.255.255.255", 32),
];
const V4_SHARED: Net = v4("100.64.0.0", 10);
const V6_PRIVATE: Net[] = [
  v6("::1", 128), v6("::", 128), v6("::ffff:0:0", 96), v6("100::", 64), v6("2001::", 23), v6("2001:2::", 48), v6("2001:db8::", 32),
  v6("2001:10::", 28), v6("fc00::", 7), v6("fe80::", 10),
];
const NAT64: Net = v6("64:ff9b::", 96);

function within(value: bigint, bits: number, [base, prefix]: Net): boolean {
  const shift = BigInt(bits - prefix);
  return value >> shift === base >> shift;
}

/** _embedded_ipv4: the IPv4 address inside an IPv4-mapped, 6to4 or NAT64 IPv6 address. */
function embeddedIpv4(ip: IpAddress): IpAddress {
  if (ip.version === 6) {
    if (ip.value >> 32n === 0xffffn) return { version: 4, value: ip.value & 0xffffffffn };
    if (ip.value >> 112n === 0x2002n) return { version: 4, value: (ip.value >> 80n) & 0xffffffffn };
    if (within(ip.value, 128, NAT64)) return { version: 4, value: ip.value & 0xffffffffn };
  }
  return ip;
}

/** mlflow.utils.validation._is_public_ip */
export function isPublicIp(address: IpAddress): boolean {
  const ip = embeddedIpv4(address);
  if (ip.version === 4) return !within(ip.value, 32, V4_SHARED) && !V4_PRIVATE.some((n) => within(ip.value, 32, n));
  return !V6_PRIVATE.some((n) => within(ip.value, 128, n));
}
