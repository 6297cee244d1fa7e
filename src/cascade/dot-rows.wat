;; dotRows: the dot product of one query with each of `count` rows, in WebAssembly SIMD (four f32 lanes).
;; The neighbour memory's hot path (knn-memory.ts): 2,048 rows x 100 dims per mid-stage item.
;; Layout (byte offsets into the exported memory): the query and every row hold `stride` f32 (a multiple of
;; 4, zero-padded); rows follow one another; `count` is a multiple of 4. out[i] = sum_j query[j] * row_i[j],
;; each lane summed in order of j, then the lanes as ((l0 + l1) + l2) + l3.
;; Four rows at a time share each load of the query. Regenerate dot-rows-kernel.ts with `npm run wasm:build`.
(module
  (memory (export "memory") 1)
  (func $hsum (param $a v128) (result f32)
    (f32.add
      (f32.add
        (f32.add (f32x4.extract_lane 0 (local.get $a)) (f32x4.extract_lane 1 (local.get $a)))
        (f32x4.extract_lane 2 (local.get $a)))
      (f32x4.extract_lane 3 (local.get $a))))
  (func (export "dotRows") (param $query i32) (param $rows i32) (param $count i32) (param $stride i32) (param $out i32)
    (local $rowBytes i32) (local $r1 i32) (local $r2 i32) (local $r3 i32) (local $j i32) (local $end i32) (local $q v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $rowBytes (i32.shl (local.get $stride) (i32.const 2)))
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $count) (i32.const 2))))
    (block $done
      (loop $fourRows
        (br_if $done (i32.ge_u (local.get $out) (local.get $end)))
        (local.set $r1 (i32.add (local.get $rows) (local.get $rowBytes)))
        (local.set $r2 (i32.add (local.get $r1) (local.get $rowBytes)))
        (local.set $r3 (i32.add (local.get $r2) (local.get $rowBytes)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (loop $dims
          (local.set $q (v128.load (i32.add (local.get $query) (local.get $j))))
          (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul (local.get $q) (v128.load (i32.add (local.get $rows) (local.get $j))))))
          (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul (local.get $q) (v128.load (i32.add (local.get $r1) (local.get $j))))))
          (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul (local.get $q) (v128.load (i32.add (local.get $r2) (local.get $j))))))
          (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul (local.get $q) (v128.load (i32.add (local.get $r3) (local.get $j))))))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $dims (i32.lt_u (local.get $j) (local.get $rowBytes))))
        (f32.store offset=0 (local.get $out) (call $hsum (local.get $a0)))
        (f32.store offset=4 (local.get $out) (call $hsum (local.get $a1)))
        (f32.store offset=8 (local.get $out) (call $hsum (local.get $a2)))
        (f32.store offset=12 (local.get $out) (call $hsum (local.get $a3)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (local.set $rows (i32.add (local.get $r3) (local.get $rowBytes)))
        (br $fourRows)))))
