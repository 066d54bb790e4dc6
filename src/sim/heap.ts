import { MinHeap } from '../lib/heap.js';

/** Events ordered by (time, insertion order): ties replay in a fixed order. */
export interface HeapItem {
  time: number;
  order: number;
}

export class EventHeap<T extends HeapItem> extends MinHeap<T> {
  constructor() {
    super((x, y) => x.time - y.time || x.order - y.order);
  }
}
