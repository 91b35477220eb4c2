// Snapshots by role key, and who wants to hear of a new one. Knows nothing of gRPC.
import type { Snapshot } from './snapshot.js';
import { sameVersions } from './snapshot.js';

export type SnapshotListener = (snapshot: Snapshot) => void;

export class SnapshotCache {
  private readonly snapshots = new Map<string, Snapshot>();
  private readonly listeners = new Map<string, Set<SnapshotListener>>();

  get(key: string): Snapshot | undefined {
    return this.snapshots.get(key);
  }

  keys(): string[] {
    return [...this.snapshots.keys()];
  }

  /** Store a snapshot; listeners hear of it only if some type's version changed. */
  set(snapshot: Snapshot): boolean {
    const previous = this.snapshots.get(snapshot.key);
    if (sameVersions(previous, snapshot)) return false;
    this.snapshots.set(snapshot.key, snapshot);
    for (const l of this.listeners.get(snapshot.key) ?? []) l(snapshot);
    return true;
  }

  /** Listen for new snapshots of a key; the current one, if any, is delivered at once. */
  watch(key: string, listener: SnapshotListener): () => void {
    let set = this.listeners.get(key);
    if (!set) this.listeners.set(key, (set = new Set()));
    set.add(listener);
    const current = this.snapshots.get(key);
    if (current) listener(current);
    return () => {
      set!.delete(listener);
      if (set!.size === 0) this.listeners.delete(key);
    };
  }

  watcherCount(key: string): number {
    return this.listeners.get(key)?.size ?? 0;
  }
}
