#!/usr/bin/env python3
"""Helpers for tests/cli/test_convert.sh (standard library only).

  sttool.py gguf-summary FILE            JSON: {"keys": {key: [type, value-ish]}, "tensors": {name: [type, ne]}}
  sttool.py shard SRC_DIR DST_DIR N      copy an HF dir, splitting model.safetensors into N shards + index
  sttool.py mutate SRC_DIR DST_DIR KIND  copy an HF dir with one defect in model.safetensors:
        shape   - a q_proj's shape transposed (same byte size, wrong shape)
        offsets - a tensor's data_offsets shifted onto its neighbour (a lying header)
        multimodal - not a defect: the Gemma 3 multimodal layout (model_type gemma3 with a
                 text_config, names under language_model.model., a vision tower tensor)
"""
import json, os, shutil, struct, sys

def read_st(path):
    b = open(path, 'rb').read()
    n, = struct.unpack_from('<Q', b, 0)
    h = json.loads(b[8:8 + n])
    return h, b[8 + n:]

def write_st(path, header, data):
    hb = json.dumps(header, separators=(',', ':')).encode()
    hb += b' ' * ((8 - len(hb) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(hb)) + hb + data)

def copy_dir(src, dst):
    os.makedirs(dst, exist_ok=True)
    for n in os.listdir(src):
        if n != 'model.safetensors':
            shutil.copy(os.path.join(src, n), os.path.join(dst, n))

def gguf_summary(path):
    b = open(path, 'rb').read()
    o = [8]
    def u(fmt):
        v = struct.unpack_from(fmt, b, o[0]); o[0] += struct.calcsize(fmt); return v[0]
    def s():
        n = u('<Q'); v = b[o[0]:o[0] + n]; o[0] += n; return v.decode('utf-8', 'replace')
    sz = {0: '<B', 1: '<b', 2: '<H', 3: '<h', 4: '<I', 5: '<i', 6: '<f', 7: '<?', 10: '<Q', 11: '<q', 12: '<d'}
    def val(t):
        if t == 8: return s()
        if t == 9:
            et = u('<I'); n = u('<Q'); vals = [val(et) for _ in range(n)]
            return ['ARRAY', et, n, vals[:4]]
        return u(sz[t])
    nt = u('<Q'); nkv = u('<Q')
    keys = {}
    for _ in range(nkv):
        k = s(); t = u('<I'); keys[k] = [t, val(t)]
    tensors = {}
    for _ in range(nt):
        name = s(); nd = u('<I'); ne = [u('<Q') for _ in range(nd)]; t = u('<I'); u('<Q')
        tensors[name] = [t, ne]
    print(json.dumps({'keys': keys, 'tensors': tensors}))

def shard(src, dst, n):
    copy_dir(src, dst)
    h, data = read_st(os.path.join(src, 'model.safetensors'))
    h.pop('__metadata__', None)
    names = sorted(h)
    wm = {}
    for i in range(n):
        part = names[i::n]
        fn = 'model-%05d-of-%05d.safetensors' % (i + 1, n)
        hh, chunks, off = {}, [], 0
        for name in part:
            b0, b1 = h[name]['data_offsets']
            chunks.append(data[b0:b1])
            hh[name] = dict(h[name], data_offsets=[off, off + b1 - b0])
            off += b1 - b0
            wm[name] = fn
        write_st(os.path.join(dst, fn), hh, b''.join(chunks))
    json.dump({'metadata': {'total_size': len(data)}, 'weight_map': wm},
              open(os.path.join(dst, 'model.safetensors.index.json'), 'w'))

def mutate(src, dst, kind):
    copy_dir(src, dst)
    h, data = read_st(os.path.join(src, 'model.safetensors'))
    if kind == 'shape':
        t = h['model.layers.0.self_attn.q_proj.weight']
        t['shape'] = t['shape'][::-1]
    elif kind == 'offsets':
        t = h['model.layers.0.self_attn.k_proj.weight']
        b0, b1 = t['data_offsets']
        t['data_offsets'] = [b0 + 2, b1 + 2]
    elif kind == 'multimodal':
        cfg = json.load(open(os.path.join(src, 'config.json')))
        cfg['model_type'] = 'gemma3_text'
        json.dump({'model_type': 'gemma3', 'architectures': ['Gemma3ForConditionalGeneration'],
                   'text_config': cfg}, open(os.path.join(dst, 'config.json'), 'w'))
        h = {('language_model.' + k if k.startswith('model.') else k): v for k, v in h.items()}
        end = len(data)
        h['vision_tower.vision_model.post_layernorm.weight'] = {
            'dtype': 'BF16', 'shape': [4], 'data_offsets': [end, end + 8]}
        data += bytes(8)
    else:
        sys.exit('unknown kind ' + kind)
    write_st(os.path.join(dst, 'model.safetensors'), h, data)

if __name__ == '__main__':
    cmd = sys.argv[1]
    if cmd == 'gguf-summary':
        gguf_summary(sys.argv[2])
    elif cmd == 'shard':
        shard(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == 'mutate':
        mutate(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)
