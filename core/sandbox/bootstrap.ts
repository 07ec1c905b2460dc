/**
 * The script that runs first in every plugin isolate. It removes WebAssembly, SharedArrayBuffer
 * and Atomics, keeps the host channel (`__cx_send`, an ivm.Callback that only copies strings and
 * numbers out) in a closure, and leaves three functions for the sandbox process to reference:
 *   __cx_register(definition) -> shape JSON text
 *   __cx_dispatch(callId, targetText, inputText, ctxKey, ctxText) -> Promise<'R'+json | 'E'+json>
 *   __cx_reply(hid, ok, text)   (answers of host calls)
 * The sandbox process takes references to them and deletes them from the global object before
 * plugin code runs. No ivm Reference ever reaches plugin code: its ctx holds plain functions
 * that send JSON text. Every value leaving the isolate is encoded by boundedStringify
 * (bounded-json.ts): stopped at the size or depth cap while it is written.
 * Bytes (readBytes, writeBytes, downloads, assets) cross as base64 text,
 * at most 8 MiB per call.
 */
import { BOUNDED_JSON } from './bounded-json.js';

export const BOOTSTRAP = String.raw`(function () {
'use strict';
const g = globalThis;
const send = g.__cx_send;
const LIMITS = JSON.parse(g.__cx_limits);
delete g.__cx_send;
delete g.__cx_limits;
delete g.WebAssembly;
delete g.SharedArrayBuffer;
delete g.Atomics;
const stringify = JSON.stringify;
const parse = JSON.parse;
const Err = Error;
const P = Promise;
const M = Map;
const St = Set;
const setSize = Object.getOwnPropertyDescriptor(Set.prototype, 'size').get;
const apply = Reflect.apply;
const freeze = Object.freeze;
const isArray = Array.isArray;
const S = String;
${BOUNDED_JSON}
const waits = new M();
let nextHid = 0;
let waitingBytes = 0;
let fns = null;

function limitError(message) {
  const e = new Err(message);
  e.code = 'CX_ERR_SANDBOX_LIMIT';
  return e;
}
function encode(v, what, max) {
  let s;
  try {
    s = boundedStringify(v === undefined ? null : v, max, LIMITS.maxDepth, what, limitError);
  } catch (e) {
    if (e && e.code === 'CX_ERR_SANDBOX_LIMIT') throw e;
    throw limitError(what + ' is not plain JSON data (' + S(e && e.message) + ')');
  }
  return s === undefined ? 'null' : s;
}
function hostCall(callId, method, args) {
  let text;
  try {
    text = encode(args, 'the arguments of ctx.' + method, LIMITS.maxHostCallBytes);
  } catch (e) {
    return P.reject(e);
  }
  // Arguments waiting for an answer are capped in bytes here, before they are copied out.
  if (waitingBytes + text.length > LIMITS.maxWaitingBytes) {
    const e = new Err('more than ' + (LIMITS.maxWaitingBytes / 1048576) + ' MiB of ctx call arguments are waiting; the call to ctx.' + method + ' was refused.');
    e.code = 'CX_ERR_TOO_MANY_CALLS';
    return P.reject(e);
  }
  waitingBytes += text.length;
  const hid = ++nextHid;
  return new P(function (resolve, reject) {
    waits.set(hid, { resolve: resolve, reject: reject, bytes: text.length });
    send(callId, hid, method, text);
  });
}
function fire(callId, method, args) {
  try {
    send(callId, 0, method, encode(args, 'the arguments of ctx.' + method, LIMITS.maxOutputBytes));
  } catch (e) {
    // Logging must never throw into the plugin.
  }
}
g.__cx_reply = function (hid, ok, text) {
  const w = waits.get(hid);
  if (!w) return;
  waits.delete(hid);
  waitingBytes -= w.bytes;
  if (ok) {
    w.resolve(text === undefined ? undefined : parse(text));
    return;
  }
  const info = parse(text);
  const e = new Err(S(info.message));
  if (info.code) e.code = S(info.code);
  w.reject(e);
};
const U8 = Uint8Array;
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const B64_INDEX = new U8(128);
for (let i = 0; i < 64; i++) B64_INDEX[B64.charCodeAt(i)] = i;
// Bytes cross the boundary as base64 text ({ b64 }), capped like file reads (8 MiB).
const MAX_BYTES = 8 * 1024 * 1024;
function toB64(bytes, what) {
  if (!(bytes instanceof U8)) throw limitError(what + ' must be a Uint8Array');
  if (bytes.length > MAX_BYTES) throw limitError(what + ' is ' + bytes.length + ' bytes, over the limit of ' + MAX_BYTES);
  const parts = [];
  for (let i = 0; i < bytes.length; i += 3 * 4096) {
    let chunk = '';
    const end = Math.min(i + 3 * 4096, bytes.length);
    for (let j = i; j < end; j += 3) {
      const n = (bytes[j] << 16) | ((j + 1 < end ? bytes[j + 1] : 0) << 8) | (j + 2 < end ? bytes[j + 2] : 0);
      chunk += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] + (j + 1 < end ? B64[(n >> 6) & 63] : '=') + (j + 2 < end ? B64[n & 63] : '=');
    }
    parts.push(chunk);
  }
  return { b64: parts.join('') };
}
function fromB64(v) {
  const t = v && typeof v.b64 === 'string' ? v.b64 : '';
  let len = t.length;
  while (len > 0 && t.charCodeAt(len - 1) === 61) len--;
  const out = new U8(Math.floor((len * 3) / 4));
  let o = 0;
  for (let i = 0; i < len; i += 4) {
    const a = B64_INDEX[t.charCodeAt(i)], b = B64_INDEX[t.charCodeAt(i + 1)];
    const c = i + 2 < len ? B64_INDEX[t.charCodeAt(i + 2)] : 0, d = i + 3 < len ? B64_INDEX[t.charCodeAt(i + 3)] : 0;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}
// The same lexical normalisation as the host's (posix.normalize of an absolute path).
function normalize(p) {
  if (typeof p !== 'string' || p.charAt(0) !== '/') return S(p);
  const out = [];
  const parts = p.split('/');
  for (let i = 0; i < parts.length; i++) {
    const x = parts[i];
    if (x === '' || x === '.') continue;
    if (x === '..') out.pop();
    else out.push(x);
  }
  return '/' + out.join('/');
}
function makeFs(callId, view, root) {
  const call = function (method) {
    return function () {
      const args = [];
      for (let i = 0; i < arguments.length; i++) args.push(arguments[i]);
      return hostCall(callId, view + '.' + method, args);
    };
  };
  const bytesOut = function (method) {
    const f = call(method);
    return function (path, options) {
      return f(path, options === undefined ? {} : options).then(fromB64);
    };
  };
  const r = view === 'fs' && root !== '/' ? root.replace(/[/]+$/, '') : '';
  return freeze({
    readFile: call('readFile'), readSmallFiles: call('readSmallFiles'), readBytes: bytesOut('readBytes'), readDir: call('readDir'), stat: call('stat'), lstat: call('lstat'),
    statfs: call('statfs'), statfsMany: call('statfsMany'), readlink: call('readlink'), writeFile: call('writeFile'),
    writeBytes: function (path, data, options) {
      let b;
      try { b = toB64(data, 'the data of ' + view + '.writeBytes'); } catch (e) { return P.reject(e); }
      return hostCall(callId, view + '.writeBytes', [path, b, options === undefined ? {} : options]);
    },
    appendFile: function (path, data, options) {
      let d = data;
      try { if (typeof data !== 'string') d = toB64(data, 'the data of ' + view + '.appendFile'); } catch (e) { return P.reject(e); }
      return hostCall(callId, view + '.appendFile', [path, d, options === undefined ? {} : options]);
    },
    symlink: call('symlink'), copy: call('copy'), mkdir: call('mkdir'), remove: call('remove'), rename: call('rename'),
    chmod: call('chmod'), chown: call('chown'), link: call('link'), fsync: call('fsync'), hash: call('hash'), batch: call('batch'),
    diskPath: function (p) {
      const n = normalize(p);
      return r && n.charAt(0) === '/' ? (n === '/' ? r : r + n) : n;
    },
  });
}
function makeCtx(callId, data, open) {
  const call = function (method) {
    return function () {
      const args = [];
      for (let i = 0; i < arguments.length; i++) args.push(arguments[i]);
      return hostCall(callId, method, args);
    };
  };
  const log = function (level) {
    return function (message, extra) {
      fire(callId, 'log.' + level, [S(message), extra === undefined ? null : extra]);
    };
  };
  return freeze({
    plugin: data.plugin,
    tier: data.tier,
    config: data.config,
    env: data.env,
    log: freeze({ debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }),
    io: freeze({
      out: function (t) { fire(callId, 'io.out', [S(t)]); },
      err: function (t) { fire(callId, 'io.err', [S(t)]); },
      confirm: call('io.confirm'),
      color: data.color,
      interactive: data.interactive,
    }),
    exec: freeze({ run: call('exec.run') }),
    fs: makeFs(callId, 'fs', S(data.env && data.env.root || '/')),
    localFs: makeFs(callId, 'localFs', '/'),
    net: freeze({
      tcpConnect: call('net.tcpConnect'), resolve: call('net.resolve'), http: call('net.http'),
      download: function (url, options) {
        return hostCall(callId, 'net.download', [url, options === undefined ? {} : options]).then(function (d) {
          return freeze({ bytes: fromB64(d), sha256: d.sha256, size: d.size });
        });
      },
    }),
    lock: function (name, options) {
      return hostCall(callId, 'lock', [name, options === undefined ? {} : options]).then(function (h) {
        let released = false;
        const release = function () {
          if (released) return P.resolve();
          released = true;
          open.delete(release);
          return hostCall(callId, 'lock.release', [h.handle]);
        };
        open.add(release);
        return freeze({ name: h.name, release: release });
      });
    },
    assets: freeze({
      readText: call('assets.readText'),
      readBytes: function (rel) { return hostCall(callId, 'assets.readBytes', [rel]).then(fromB64); },
      dir: S(data.assetsDir || ''),
    }),
    registry: freeze({ list: call('registry.list'), invoke: call('registry.invoke'), callHook: call('registry.callHook') }),
    plugins: freeze({ list: call('plugins.list'), enable: call('plugins.enable'), disable: call('plugins.disable'), installDir: data.installDir }),
  });
}
// The data of each context, parsed once per isolate (the kernel makes a new context, under a new
// key, when a plugin's config or grants change). Its config object is shared by the calls of that
// context, as a trusted plugin's is.
const contexts = new M();
function contextData(key, text) {
  let data = contexts.get(key);
  if (data === undefined) {
    data = parse(text);
    data.env = freeze(data.env);
    contexts.set(key, data);
    if (contexts.size > 16) contexts.delete(contexts.keys().next().value);
  }
  return data;
}
// Call targets by their text (a plugin has a few): parsed once, kept frozen.
const targets = new M();
const mapGet = M.prototype.get;
const mapSet = M.prototype.set;
let targetCount = 0;
function targetOf(text) {
  let t = apply(mapGet, targets, [text]);
  if (t === undefined) {
    t = freeze(parse(text));
    if (targetCount++ < 256) apply(mapSet, targets, [text, t]);
  }
  return t;
}
g.__cx_register = function (def) {
  if (!def || typeof def !== 'object') throw new Err('its default export is not an object; export default definePlugin({ ... })');
  const contributes = isArray(def.contributes) ? def.contributes : [];
  const taps = isArray(def.taps) ? def.taps : [];
  const f = { def: def, contributions: new M(), taps: [] };
  const shape = {
    name: def.name,
    contributes: [],
    taps: [],
    kinds: isArray(def.kinds) ? def.kinds : [],
    hooks: isArray(def.hooks) ? def.hooks : [],
    hasActivate: typeof def.activate === 'function',
    hasDeactivate: typeof def.deactivate === 'function',
    errors: [],
  };
  // The plugin's own error codes (defineErrors): their exit codes and summaries cross as data.
  const specs = def.errors && typeof def.errors === 'object' ? def.errors[Symbol.for('cx-ops.error-specs')] : undefined;
  if (specs && typeof specs === 'object') {
    for (const code of Object.keys(specs)) {
      const spec = specs[code];
      shape.errors.push({ code: code, exit: spec && spec.exit, summary: spec && spec.summary });
    }
  }
  for (let i = 0; i < contributes.length; i++) {
    const c = contributes[i];
    if (!c || typeof c.run !== 'function') throw new Err('contribution #' + i + ' has no run function');
    f.contributions.set(S(c.kind) + '\u0000' + S(c.id), c);
    shape.contributes.push({ kind: c.kind, id: c.id, meta: c.meta === undefined ? {} : c.meta, configField: typeof c.configField === 'string' ? c.configField : undefined });
  }
  for (let i = 0; i < taps.length; i++) {
    const t = taps[i];
    if (!t || typeof t.run !== 'function') throw new Err('tap #' + i + ' has no run function');
    f.taps.push(t);
    shape.taps.push({ hook: t.hook, priority: t.priority === undefined ? null : t.priority, index: i });
  }
  fns = f;
  return encode(shape, 'the plugin definition', LIMITS.maxOutputBytes);
};
function errorText(e) {
  let message = 'non-Error value thrown';
  let code = null;
  let hint = null;
  let suggestions = null;
  try {
    if (e && typeof e === 'object') {
      message = S(e.message);
      if (typeof e.code === 'string') code = e.code;
      // A CxError's fix, as data (defineErrors codes keep theirs across the boundary).
      if (typeof e.hint === 'string') hint = e.hint.slice(0, 1000);
      if (isArray(e.suggestions)) suggestions = e.suggestions.slice(0, 10).map(function (x) { return S(x).slice(0, 100); });
    } else message = S(e);
  } catch (x) {
    message = 'an error whose message cannot be read';
  }
  return stringify({ message: message.slice(0, 4096), code: code && code.slice(0, 100), hint: hint, suggestions: suggestions });
}
// A lock a call did not release is released when the call ends: a later call has no channel to release it.
async function releaseAll(open) {
  const all = [];
  open.forEach(function (r) { all.push(r); });
  for (let i = 0; i < all.length; i++) {
    try { await all[i](); } catch (e) { /* the host released it already */ }
  }
}
g.__cx_dispatch = async function (callId, targetText, inputText, ctxKey, ctxText) {
  const open = new St();
  try {
    const target = targetOf(targetText);
    const ctx = makeCtx(callId, contextData(ctxKey, ctxText), open);
    const input = parse(inputText);
    let out;
    if (target.type === 'activate') out = fns.def.activate ? await fns.def.activate(ctx) : null;
    else if (target.type === 'deactivate') out = fns.def.deactivate ? await fns.def.deactivate(ctx) : null;
    else if (target.type === 'tap') {
      const t = fns.taps[target.index];
      if (!t) throw new Err('no tap #' + target.index);
      out = await t.run(ctx, input);
    } else {
      const c = fns.contributions.get(S(target.kind) + '\u0000' + S(target.id));
      if (!c) throw new Err('no ' + target.kind + " '" + target.id + "' in this plugin");
      out = await c.run(ctx, input);
    }
    if (apply(setSize, open, [])) await releaseAll(open);
    return 'R' + encode(out, 'the result', LIMITS.maxOutputBytes);
  } catch (e) {
    if (apply(setSize, open, [])) await releaseAll(open);
    return 'E' + errorText(e);
  }
};
})();`;
