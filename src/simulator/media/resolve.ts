import { type Catalog, fileSeed } from '../catalog.js';
import type { MediaKind } from '../content.js';

/** Which of the catalog's files a content seed names: its extension, and the asset's id as the look. */
export function catalogMediaResolver(catalog: Catalog): (seed: string) => MediaKind | undefined {
  return (seed) => {
    const asset = catalog.find(seed.slice(0, seed.indexOf(':')));
    const file = asset?.files.find((f) => fileSeed(asset, f) === seed);
    return asset && file ? { ext: file.ext, look: asset.id } : undefined;
  };
}
