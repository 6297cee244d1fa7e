/** Text hashing shared by the featurizer and the cache: one FNV-1a and one murmur finaliser. */
export { fnv1a32, fmix32, mixHashes, FNV_PRIME } from './hash.js';
