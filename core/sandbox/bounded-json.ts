/**
 * The encoder every value leaving a plugin isolate goes through (results, errors, log lines,
 * ctx arguments): JSON.stringify's output, written piece by piece while counting characters and
 * nesting, and stopped the moment either passes its cap — so a value is never serialised whole
 * before it is refused (a returned array holding one 1 MB string 500 times stops after about
 * 1 MB, not at 500 MB). toJSON, getters and proxies run, as with JSON.stringify, inside the isolate.
 *
 * This is isolate source text, embedded in the bootstrap (core/sandbox/bootstrap.ts). It defines
 * `boundedStringify(value, maxChars, maxDepth, what, limitError)`, which returns the JSON text
 * (undefined for a value JSON.stringify would not encode) or throws limitError(message) at a cap
 * and a TypeError for a cycle or a BigInt, as JSON.stringify does. Uses only built-ins captured
 * before plugin code runs.
 */
export const BOUNDED_JSON = String.raw`
const boundedStringify = (function () {
  // Captured before plugin code runs; used without prototype lookups (no push, no index writes
  // on fresh arrays), so a plugin that patches Array.prototype or Set.prototype changes nothing.
  const quote = JSON.stringify;
  const keysOf = Object.keys;
  const isArr = Array.isArray;
  const apply = Reflect.apply;
  const NewSet = Set;
  const setAdd = Set.prototype.add;
  const setHas = Set.prototype.has;
  const setDelete = Set.prototype.delete;
  const TypeErr = TypeError;
  const Num = Number;
  const Str = String;
  const Bool = Boolean;
  const boolValue = Boolean.prototype.valueOf;
  const Big = typeof BigInt === 'function' ? BigInt : null;
  const bigValue = Big ? BigInt.prototype.valueOf : null;
  const isFiniteNum = Number.isFinite;
  const SKIP = {};
  return function boundedStringify(root, max, maxDepth, what, limitError) {
    const open = new NewSet();
    let text = '';
    function put(s) {
      if (text.length + s.length > max) throw limitError(what + ' is longer than the limit of ' + max + ' characters');
      text += s;
    }
    // holder[key] after toJSON and unwrapping, or SKIP when JSON.stringify would leave it out.
    function resolve(holder, key) {
      let v = holder[key];
      if (v !== null && (typeof v === 'object' || typeof v === 'bigint') && typeof v.toJSON === 'function') v = v.toJSON(key);
      if (v !== null && typeof v === 'object') {
        if (v instanceof Num) v = Num(v);
        else if (v instanceof Str) v = Str(v);
        else if (v instanceof Bool) v = apply(boolValue, v, []);
        else if (Big && v instanceof Big) v = apply(bigValue, v, []);
      }
      if (v === undefined || typeof v === 'function' || typeof v === 'symbol') return SKIP;
      return v;
    }
    function emit(v, depth) {
      if (v === null) return put('null');
      switch (typeof v) {
        case 'string':
          if (text.length + v.length + 2 > max) throw limitError(what + ' is longer than the limit of ' + max + ' characters');
          return put(quote(v));
        case 'number':
          return put(isFiniteNum(v) ? quote(v) : 'null');
        case 'boolean':
          return put(v ? 'true' : 'false');
        case 'bigint':
          throw new TypeErr('Do not know how to serialize a BigInt');
      }
      if (depth + 1 > maxDepth) throw limitError(what + ' is nested deeper than the limit of ' + maxDepth + ' levels');
      if (apply(setHas, open, [v])) throw new TypeErr('Converting circular structure to JSON');
      apply(setAdd, open, [v]);
      if (isArr(v)) {
        put('[');
        const n = v.length;
        for (let i = 0; i < n; i++) {
          if (i > 0) put(',');
          const x = resolve(v, i);
          if (x === SKIP) put('null');
          else emit(x, depth + 1);
        }
        put(']');
      } else {
        put('{');
        const keys = keysOf(v);
        let first = true;
        for (let i = 0; i < keys.length; i++) {
          const k = keys[i];
          const x = resolve(v, k);
          if (x === SKIP) continue;
          if (text.length + k.length + 3 > max) throw limitError(what + ' is longer than the limit of ' + max + ' characters');
          put(first ? quote(k) + ':' : ',' + quote(k) + ':');
          first = false;
          emit(x, depth + 1);
        }
        put('}');
      }
      apply(setDelete, open, [v]);
    }
    const top = resolve({ '': root }, '');
    if (top === SKIP) return undefined;
    emit(top, 0);
    return text;
  };
})();
`;
