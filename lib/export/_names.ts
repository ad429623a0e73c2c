/**
 * Kubernetes object names from config names (`image_classifier` -> `image-classifier`).
 *
 * @module
 */

/** A DNS-1035 label: lowercase alphanumerics and `-`, starting with a letter, at most 63 chars. */
export function k8sName(name: string): string {
  let n = name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "");
  if (!/^[a-z]/.test(n)) n = `app-${n}`;
  return n.slice(0, 63).replace(/-+$/, "");
}
