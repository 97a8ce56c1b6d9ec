"""Reads a TensorBoard event folder with TensorBoard's own EventAccumulator and prints what it
found as JSON (for tests/tensorboard.rs):

    {"tags": {"scalars": [...], "images": [...], "histograms": [...], "tensors": [...]},
     "scalars": {tag: [[step, value], ...]},
     "images": {tag: [[step, width, height, n_bytes], ...]},
     "histograms": {tag: [[step, num, min, max, n_buckets], ...]},
     "texts": {tag: [[step, text], ...]},
     "plugins": {"text": [tag, ...]}}

Usage: python3 tb_read.py EVENT_DIR
"""

import json
import sys

from tensorboard.backend.event_processing import event_accumulator as ea


def text_tags(acc):
    try:
        return sorted(acc.PluginTagToContent("text"))
    except KeyError:
        return []


def main(path):
    guidance = {
        ea.COMPRESSED_HISTOGRAMS: 0,
        ea.IMAGES: 0,
        ea.AUDIO: 0,
        ea.SCALARS: 0,
        ea.HISTOGRAMS: 0,
        ea.TENSORS: 0,
    }
    acc = ea.EventAccumulator(path, size_guidance=guidance)
    acc.Reload()
    tags = acc.Tags()
    out = {
        "tags": {k: sorted(tags.get(k, [])) for k in ("scalars", "images", "histograms", "tensors")},
        "scalars": {
            t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags.get("scalars", [])
        },
        "images": {
            t: [[e.step, e.width, e.height, len(e.encoded_image_string)] for e in acc.Images(t)]
            for t in tags.get("images", [])
        },
        "histograms": {
            t: [
                [
                    e.step,
                    e.histogram_value.num,
                    e.histogram_value.min,
                    e.histogram_value.max,
                    len(e.histogram_value.bucket),
                ]
                for e in acc.Histograms(t)
            ]
            for t in tags.get("histograms", [])
        },
        "texts": {
            t: [
                [e.step, b"".join(e.tensor_proto.string_val).decode("utf-8")]
                for e in acc.Tensors(t)
            ]
            for t in tags.get("tensors", [])
        },
        "plugins": {"text": text_tags(acc)},
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
