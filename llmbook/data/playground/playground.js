/* The playground: the course's own models, run in the reader's browser with no server.
 *
 * `python -m llmbook.web_export OUT` exports what this file loads (book/build.py does it for the
 * site): manifest.js (each model's shape, prompt template and stop token), tokenizer.js (the
 * merge table and the split pattern rewritten for JavaScript) and models/NAME.js (the shipped
 * fp16 safetensors file, base64). Each data file calls LLMBookPlayground.register(key, value); it
 * is a script rather than a fetched file so that the page also works opened from disk (file://).
 *
 * Three parts, in the order the course teaches them: the tokenizer (chapter 3), the GPT's forward
 * pass with a KV cache (chapters 4-5) and sampling (chapter 5); then the page that shows them.
 * Python's llmbook gives the same token ids (tests/site/test_playground.py checks it).
 */
(function () {
  'use strict';

  const SCRIPT = document.currentScript;
  const ROOT = SCRIPT ? SCRIPT.src.replace(/[^/]*$/, '') : './';
  const registry = {};
  const waiting = {};

  function register(key, value) {
    registry[key] = value;
    (waiting[key] || []).forEach((resolve) => resolve(value));
    delete waiting[key];
  }

  /* The data file that registers `key` (models/base.js registers "model:base"), loaded once. */
  function load(key, file) {
    if (key in registry) return Promise.resolve(registry[key]);
    return new Promise((resolve, reject) => {
      const first = !(key in waiting);
      (waiting[key] = waiting[key] || []).push(resolve);
      if (!first) return;
      const s = document.createElement('script');
      s.src = ROOT + file;
      s.onerror = () => reject(new Error('could not load ' + s.src));
      document.head.appendChild(s);
    });
  }

  // ---- the tokenizer: byte-level BPE, as llmbook.tokenizer.BPETokenizer --------------------
  const latin1 = (bytes) => String.fromCharCode.apply(null, bytes);

  class Tokenizer {
    /* spec: {js_pattern, byte_order, merges, special_tokens} from tokenizer.js; extra: more
       special tokens (the chat tokens of the sft model). */
    constructor(spec, extra) {
      this.split = new RegExp(spec.js_pattern, 'gu');
      this.ranks = new Map();
      this.bytes = [];
      spec.byte_order.forEach((b, i) => { this.bytes.push([b]); this.ranks.set(latin1([b]), i); });
      spec.merges.forEach(([a, b]) => {
        const joined = this.bytes[a].concat(this.bytes[b]);
        this.ranks.set(latin1(joined), this.bytes.length);
        this.bytes.push(joined);
      });
      this.special = Object.assign({}, spec.special_tokens, extra || {});
      for (const [text, id] of Object.entries(this.special)) {
        this.bytes[id] = Array.from(new TextEncoder().encode(text));
      }
      this.cache = new Map();
    }

    /* tiktoken's rule: merge the adjacent pair whose joined bytes rank lowest, repeat. */
    encodePiece(piece) {
      let parts = Array.from(new TextEncoder().encode(piece), (b) => String.fromCharCode(b));
      while (parts.length > 1) {
        let best = Infinity, at = -1;
        for (let i = 0; i < parts.length - 1; i++) {
          const r = this.ranks.get(parts[i] + parts[i + 1]);
          if (r !== undefined && r < best) { best = r; at = i; }
        }
        if (at < 0) break;
        parts.splice(at, 2, parts[at] + parts[at + 1]);
      }
      return parts.map((p) => this.ranks.get(p));
    }

    /* Special-token strings are plain text here, as in Python's encode_ordinary. */
    encodeOrdinary(text) {
      const out = [];
      for (const m of text.matchAll(this.split)) {
        let ids = this.cache.get(m[0]);
        if (!ids) { ids = this.encodePiece(m[0]); this.cache.set(m[0], ids); }
        out.push(...ids);
      }
      return out;
    }

    /* A model's prompt: its template's text and special tokens around the reader's text, which
       stays plain text (typing "<|end|>" cannot end the turn). */
    encodePrompt(template, prompt) {
      const out = [];
      for (const part of template) {
        if (part.special) out.push(this.special[part.special]);
        else out.push(...this.encodeOrdinary(part.text.split('{prompt}').join(prompt)));
      }
      return out;
    }

    decode(ids) {
      return new TextDecoder().decode(new Uint8Array(ids.flatMap((i) => this.bytes[i])));
    }
  }

  // ---- the model: GPT with a KV cache, as llmbook.gpt.GPT --------------------------------
  const HALF = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
    HALF[h] = e === 0 ? s * 2 ** -14 * (f / 1024)
      : e === 31 ? (f ? NaN : s * Infinity) : s * 2 ** (e - 15) * (1 + f / 1024);
  }

  /* A safetensors file (an 8-byte header length, a JSON header, then the tensors' bytes)
     -> {name: Float32Array}. The shipped files hold fp16; Python upcasts them to fp32 too. */
  function readSafetensors(bytes) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = Number(view.getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    const tensors = {};
    for (const [name, t] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      if (t.dtype !== 'F16') throw new Error(name + ': expected F16, got ' + t.dtype);
      const [a, b] = t.data_offsets;
      const out = new Float32Array((b - a) / 2);
      for (let i = 0; i < out.length; i++) out[i] = HALF[view.getUint16(8 + n + a + 2 * i, true)];
      tensors[name] = out;
    }
    return tensors;
  }

  function linear(W, b, x, nOut) {
    const nIn = x.length, y = new Float32Array(nOut);
    for (let o = 0; o < nOut; o++) {
      let s = b ? b[o] : 0;
      const row = o * nIn;
      for (let i = 0; i < nIn; i++) s += W[row + i] * x[i];
      y[o] = s;
    }
    return y;
  }

  function layerNorm(x, w, b) {
    let mean = 0, v = 0;
    for (const a of x) mean += a;
    mean /= x.length;
    for (const a of x) v += (a - mean) * (a - mean);
    const inv = 1 / Math.sqrt(v / x.length + 1e-5), y = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) y[i] = (x[i] - mean) * inv * w[i] + (b ? b[i] : 0);
    return y;
  }

  const gelu = (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));

  class GPT {
    constructor(tensors, config) {
      this.t = tensors;
      this.cfg = config;
      this.head = tensors['head.weight'] || tensors['embed.tok.weight']; // tied when absent
    }

    newCache() { return Array.from({ length: this.cfg.n_layer }, () => ({ k: [], v: [] })); }

    /* One token at position cache length: its logits; the cache grows by one position.
       `weights`, when given, receives each layer's per-head attention weights of this token. */
    step(id, cache, weights) {
      const { n_embd: C, n_head: H, vocab_size: V } = this.cfg, t = this.t, hd = C / H;
      const pos = cache[0].k.length;
      const x = new Float32Array(C);
      for (let i = 0; i < C; i++) x[i] = t['embed.tok.weight'][id * C + i] + t['embed.pos.weight'][pos * C + i];
      for (let l = 0; l < this.cfg.n_layer; l++) {
        const p = 'blocks.' + l + '.';
        const qkv = linear(t[p + 'attn.qkv.weight'], t[p + 'attn.qkv.bias'], layerNorm(x, t[p + 'ln1.weight'], t[p + 'ln1.bias']), 3 * C);
        cache[l].k.push(qkv.slice(C, 2 * C));
        cache[l].v.push(qkv.slice(2 * C));
        const y = new Float32Array(C), layerWeights = [];
        for (let h = 0; h < H; h++) {
          const o = h * hd, scores = cache[l].k.map((k) => {
            let s = 0;
            for (let i = 0; i < hd; i++) s += qkv[o + i] * k[o + i];
            return s / Math.sqrt(hd);
          });
          const w = softmax(scores);
          layerWeights.push(w);
          cache[l].v.forEach((v, j) => { for (let i = 0; i < hd; i++) y[o + i] += w[j] * v[o + i]; });
        }
        if (weights) weights.push(layerWeights);
        const a = linear(t[p + 'attn.proj.weight'], t[p + 'attn.proj.bias'], y, C);
        for (let i = 0; i < C; i++) x[i] += a[i];
        const hidden = linear(t[p + 'mlp.fc.weight'], t[p + 'mlp.fc.bias'], layerNorm(x, t[p + 'ln2.weight'], t[p + 'ln2.bias']), 4 * C);
        for (let i = 0; i < hidden.length; i++) hidden[i] = gelu(hidden[i]);
        const m = linear(t[p + 'mlp.proj.weight'], t[p + 'mlp.proj.bias'], hidden, C);
        for (let i = 0; i < C; i++) x[i] += m[i];
      }
      return linear(this.head, null, layerNorm(x, t['ln_f.weight'], t['ln_f.bias']), V);
    }
  }

  // ---- sampling: llmbook.gpt.next_token_distribution and generate ------------------------
  function softmax(logits) {
    let max = -Infinity;
    for (const a of logits) if (a > max) max = a;
    const e = Array.from(logits, (a) => Math.exp(a - max));
    const sum = e.reduce((s, a) => s + a, 0);
    return e.map((a) => a / sum);
  }

  /* Probabilities for the next token: logits / temperature, the top_k largest kept (ties with
     the k-th too), softmax, then the smallest set whose probability reaches top_p. */
  function distribution(logits, temperature, topK, topP) {
    let z = Array.from(logits, (a) => a / temperature);
    if (topK) {
      const kth = [...z].sort((a, b) => b - a)[Math.min(topK, z.length) - 1];
      z = z.map((a) => (a < kth ? -Infinity : a));
    }
    let probs = softmax(z);
    if (topP !== null && topP < 1) {
      const order = probs.map((p, i) => i).sort((a, b) => probs[b] - probs[a]);
      let before = 0;
      const kept = new Array(probs.length).fill(0);
      for (const i of order) { if (before < topP) kept[i] = probs[i]; before += probs[i]; }
      const sum = kept.reduce((s, a) => s + a, 0);
      probs = kept.map((a) => a / sum);
    }
    return probs;
  }

  const argmax = (a) => a.reduce((best, v, i) => (v > a[best] ? i : best), 0);

  /* A seeded generator (mulberry32): the same seed draws the same text in every browser. */
  function random(seed) {
    let s = seed >>> 0;
    return () => {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = Math.imul(s ^ (s >>> 15), 1 | s);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function draw(probs, rand) {
    let u = rand(), i = 0;
    for (; i < probs.length - 1; i++) { u -= probs[i]; if (u < 0) break; }
    return i;
  }

  /* Next-token logits for `ids` as generate() computes them: only the newest token through the
     cache while it has room, else the last context_length tokens afresh (then `weights`, when
     given, receives every position's attention weights: [position][layer][head][earlier]). */
  function nextLogits(model, state, ids, weights) {
    const ctx = model.cfg.context_length;
    if (state.cache && state.cache[0].k.length < ctx && state.seen === ids.length - 1) {
      state.seen = ids.length;
      return model.step(ids[ids.length - 1], state.cache, null);
    }
    state.cache = model.newCache();
    const window = ids.slice(-ctx);
    let logits = null;
    window.forEach((id) => { const w = weights ? [] : null; logits = model.step(id, state.cache, w); if (weights) weights.push(w); });
    state.seen = ids.length;
    return logits;
  }

  /* Up to `n` tokens after `ids` (stopping after `stop`), one at a time; onToken sees each. */
  async function generate(model, ids, n, opts, onToken) {
    const out = ids.slice(), state = {}, rand = random(opts.seed || 0);
    for (let s = 0; s < n; s++) {
      const logits = nextLogits(model, state, out);
      const next = opts.greedy ? argmax(logits) : draw(distribution(logits, opts.temperature, opts.topK, opts.topP), rand);
      out.push(next);
      if (onToken) await onToken(next, out.length - ids.length);
      if (next === opts.stop) break;
    }
    return out.slice(ids.length);
  }

  // ---- the page -----------------------------------------------------------------------------
  const TEXT = {
    ko: {
      model: '모델', prompt: '프롬프트', tokens: '토큰', next: '다음 토큰 분포 (상위 10개)',
      temperature: '온도', topK: 'top-k (0: 끄기)', topP: 'top-p', generate: '생성',
      greedy: '탐욕적 디코딩', seed: '시드', maxTokens: '최대 토큰 수', output: '이어 쓴 글',
      attention: '어텐션 가중치', layer: '층', head: '헤드', loading: '모델을 불러오는 중…',
      ready: '준비됨', bytes: '바이트', params: '매개변수', size: '크기', count: '개',
      partial: 'UTF-8 글자의 일부인 바이트', offline: '모든 계산은 이 브라우저 안에서 합니다.',
    },
    en: {
      model: 'Model', prompt: 'Prompt', tokens: 'Tokens', next: 'Next-token distribution (top 10)',
      temperature: 'Temperature', topK: 'top-k (0: off)', topP: 'top-p', generate: 'Generate',
      greedy: 'Greedy decoding', seed: 'Seed', maxTokens: 'Max tokens', output: 'Continuation',
      attention: 'Attention weights', layer: 'Layer', head: 'Head', loading: 'Loading the model…',
      ready: 'Ready', bytes: 'bytes', params: 'parameters', size: 'size', count: '',
      partial: 'bytes of a partial UTF-8 character', offline: 'Everything runs inside this browser.',
    },
  };
  const VIEWS = ['tokens', 'next', 'generate', 'attention'];

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') e.textContent = v; else e.setAttribute(k, v);
    }
    children.forEach((c) => c && e.appendChild(c));
    return e;
  }

  /* How a token looks: its text, or its bytes in hex when they are part of a UTF-8 character. */
  function tokenLabel(tok, id) {
    const bytes = new Uint8Array(tok.bytes[id]);
    try {
      return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), partial: false };
    } catch (e) {
      return { text: Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' '), partial: true };
    }
  }

  function tokenSpans(tok, ids, t) {
    const box = el('div', { class: 'llmbook-pg-tokens', 'data-testid': 'tokens', 'data-ids': ids.join(',') });
    ids.forEach((id, i) => {
      const { text, partial } = tokenLabel(tok, id);
      const span = el('span', {
        class: 'llmbook-pg-token' + (partial ? ' partial' : ''), 'data-id': String(id),
        title: 'id ' + id + (partial ? ' · ' + t.partial : ''),
        style: 'background: hsl(' + ((i * 67) % 360) + ' 80% 85%)',
      });
      span.appendChild(el('span', { class: 'text', text: text.replace(/\n/g, '↵') }));
      span.appendChild(el('span', { class: 'id', text: String(id) }));
      box.appendChild(span);
    });
    return box;
  }

  function bars(tok, probs, t) {
    const top = probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]).slice(0, 10);
    const box = el('div', { class: 'llmbook-pg-bars', 'data-testid': 'next' });
    for (const [p, id] of top) {
      const row = el('div', { class: 'row', 'data-id': String(id) });
      row.appendChild(el('span', { class: 'label', text: JSON.stringify(tokenLabel(tok, id).text).slice(1, -1) }));
      const bar = el('span', { class: 'bar' });
      bar.appendChild(el('span', { class: 'fill', style: 'width:' + (100 * p).toFixed(1) + '%' }));
      row.appendChild(bar);
      row.appendChild(el('span', { class: 'p', text: (100 * p).toFixed(1) + '%' }));
      box.appendChild(row);
    }
    return box;
  }

  function heatmap(canvas, weights, n) {
    const size = Math.min(360, Math.max(120, n * 12)), cell = size / n;
    canvas.width = canvas.height = size;
    const g = canvas.getContext('2d');
    g.clearRect(0, 0, size, size);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        const w = weights[i][j];
        g.fillStyle = 'rgba(37, 99, 235,' + Math.sqrt(w).toFixed(3) + ')';
        g.fillRect(j * cell, i * cell, Math.ceil(cell), Math.ceil(cell));
      }
    }
  }

  /* Build a playground inside `root`. options: lang ('ko'|'en'), views (subset of VIEWS),
     model (a manifest name), prompt (the first text). */
  async function mount(root, options) {
    const lang = options.lang === 'ko' ? 'ko' : 'en', t = TEXT[lang];
    const views = options.views && options.views.length ? options.views : VIEWS;
    const [manifest, spec] = await Promise.all([load('manifest', 'manifest.js'), load('tokenizer', 'tokenizer.js')]);
    const names = Object.keys(manifest.models);
    let name = names.includes(options.model) ? options.model : names[0];

    root.classList.add('llmbook-pg');
    const select = el('select', { 'data-testid': 'model', 'aria-label': t.model });
    names.forEach((m) => {
      const info = manifest.models[m];
      select.appendChild(el('option', { value: m, text: info.title[lang] }));
    });
    select.value = name;
    const about = el('p', { class: 'llmbook-pg-about', 'data-testid': 'about' });
    const status = el('p', { class: 'llmbook-pg-status', 'data-testid': 'status', text: t.loading });
    const prompt = el('textarea', { rows: '3', 'data-testid': 'prompt', 'aria-label': t.prompt });
    prompt.value = options.prompt || manifest.models[name].example[lang];
    const tokensBox = el('div'), nextBox = el('div');
    const num = (label, attrs) => {
      const input = el('input', attrs);
      return [el('label', {}, el('span', { text: label }), input), input];
    };
    const [tLabel, temperature] = num(t.temperature, { type: 'range', min: '0.1', max: '2', step: '0.1', value: '1', 'data-testid': 'temperature' });
    const tValue = el('output', { text: '1.0' });
    tLabel.appendChild(tValue);
    const [kLabel, topK] = num(t.topK, { type: 'number', min: '0', max: '200', value: '0', 'data-testid': 'top-k' });
    const [pLabel, topP] = num(t.topP, { type: 'range', min: '0.05', max: '1', step: '0.05', value: '1', 'data-testid': 'top-p' });
    const pValue = el('output', { text: '1.00' });
    pLabel.appendChild(pValue);
    const [gLabel, greedy] = num(t.greedy, { type: 'checkbox', 'data-testid': 'greedy' });
    greedy.checked = true;
    const [sLabel, seed] = num(t.seed, { type: 'number', min: '0', value: '0', 'data-testid': 'seed' });
    const [mLabel, maxTokens] = num(t.maxTokens, { type: 'number', min: '1', max: '200', value: '40', 'data-testid': 'max-tokens' });
    const button = el('button', { type: 'button', 'data-testid': 'generate', text: t.generate });
    const output = el('div', { class: 'llmbook-pg-output', 'data-testid': 'continuation' });
    const [lLabel, layer] = num(t.layer, { type: 'number', min: '0', value: '0', 'data-testid': 'layer' });
    const [hLabel, head] = num(t.head, { type: 'number', min: '0', value: '0', 'data-testid': 'head' });
    const canvas = el('canvas', { 'data-testid': 'heatmap', class: 'llmbook-pg-heatmap' });

    const section = (view, title, ...body) => views.includes(view) ? el('section', { 'data-view': view }, el('h4', { text: title }), ...body) : null;
    root.replaceChildren(
      el('div', { class: 'llmbook-pg-head' }, el('label', {}, el('span', { text: t.model }), select), status),
      about,
      el('label', { class: 'llmbook-pg-prompt' }, el('span', { text: t.prompt }), prompt),
      section('tokens', t.tokens, tokensBox),
      section('next', t.next, el('div', { class: 'llmbook-pg-controls' }, tLabel, kLabel, pLabel), nextBox),
      section('generate', t.output, el('div', { class: 'llmbook-pg-controls' }, gLabel, sLabel, mLabel, button), output),
      section('attention', t.attention, el('div', { class: 'llmbook-pg-controls' }, lLabel, hLabel), canvas),
      el('p', { class: 'llmbook-pg-note', text: t.offline }),
    );

    let model = null, tok = null, info = null, weights = [], ids = [];
    const settings = () => ({
      temperature: Number(temperature.value), topK: Number(topK.value) || null,
      topP: Number(topP.value) < 1 ? Number(topP.value) : null,
      greedy: greedy.checked, seed: Number(seed.value) || 0, stop: info.stop_id,
    });

    function drawAttention() {
      if (!views.includes('attention') || !weights.length) return;
      const L = Math.min(Number(layer.value) || 0, info.config.n_layer - 1);
      const Hd = Math.min(Number(head.value) || 0, info.config.n_head - 1);
      heatmap(canvas, weights.map((w) => w[L][Hd]), weights.length);
    }

    function analyse() {
      if (!model) return;
      ids = tok.encodePrompt(info.template[/[\uac00-\ud7a3]/.test(prompt.value) ? 'ko' : 'en'], prompt.value);
      tokensBox.replaceChildren(tokenSpans(tok, ids, t));
      weights = [];
      if (!ids.length) { nextBox.replaceChildren(); return; }
      const logits = nextLogits(model, {}, ids, weights);
      const s = settings();
      nextBox.replaceChildren(bars(tok, distribution(logits, s.temperature, s.topK, s.topP), t));
      tValue.textContent = s.temperature.toFixed(1);
      pValue.textContent = Number(topP.value).toFixed(2);
      drawAttention();
    }

    async function choose(m) {
      name = m;
      info = manifest.models[m];
      model = null;
      status.textContent = t.loading;
      root.dataset.ready = '0';
      const b64 = await load('model:' + m, info.file);
      const raw = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      model = new GPT(readSafetensors(raw), info.config);
      tok = new Tokenizer(spec, info.extra_special_tokens);
      layer.max = String(info.config.n_layer - 1);
      head.max = String(info.config.n_head - 1);
      about.textContent = info.about[lang] + ' · ' + info.parameters.toLocaleString() + ' ' + t.params +
        ' · ' + (info.bytes / 1e6).toFixed(1) + ' MB';
      status.textContent = t.ready;
      root.dataset.ready = '1';
      root.dataset.readyMs = root.dataset.readyMs || String(Math.round(performance.now()));
      analyse();
    }

    let timer = null;
    const later = () => { clearTimeout(timer); timer = setTimeout(analyse, 200); };
    prompt.addEventListener('input', later);
    [temperature, topK, topP].forEach((c) => c.addEventListener('input', analyse));
    [layer, head].forEach((c) => c.addEventListener('input', drawAttention));
    select.addEventListener('change', () => choose(select.value));
    button.addEventListener('click', async () => {
      if (!model) return;
      analyse();
      button.disabled = true;
      output.dataset.done = '0';
      output.replaceChildren();
      const prefix = ids.slice(), made = [];
      await generate(model, prefix, Math.max(1, Number(maxTokens.value) || 40), settings(), async (id) => {
        made.push(id);
        output.replaceChildren(el('div', { class: 'text', text: tok.decode(made.filter((i) => i !== info.stop_id)) }),
          tokenSpans(tok, made, t));
        await new Promise((r) => setTimeout(r, 0)); // let the page draw each token
      });
      output.dataset.ids = made.join(',');
      output.dataset.done = '1';
      button.disabled = false;
    });
    await choose(name);
  }

  /* Every element with class "llmbook-playground" becomes a playground; its data-* attributes
     (or the page's ?view=&model=&prompt= in the embed page) give lang, views, model and prompt. */
  function start() {
    const query = new URLSearchParams(location.search);
    document.querySelectorAll('.llmbook-playground').forEach((root) => {
      const d = root.dataset, pick = (k) => query.get(k) || d[k];
      mount(root, {
        lang: pick('lang') || document.documentElement.lang,
        views: (pick('views') || '').split(',').filter((v) => VIEWS.includes(v)),
        model: pick('model'), prompt: pick('prompt'),
      }).catch((err) => { root.textContent = String(err); root.dataset.ready = 'error'; });
    });
  }

  window.LLMBookPlayground = { register, mount, Tokenizer, GPT, readSafetensors, distribution, generate, load };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
