"""Mutants of a reference module: one small, plausible mistake each.

The operators are those of mutmut and cosmic-ray that make sense for numerical code (binary
operator and comparison swaps, numbers +-1, a unary minus dropped, keyword arguments removed),
narrowed the way mutmut narrows them (``+`` becomes ``-``, not each of the 11 other operators:
most of those only make a TypeError on floats), plus the mistakes numpy code invites and neither
tool has: axis swaps, ``keepdims`` dropped, transposes dropped or added, ``@`` and ``*``
confused, a term dropped or counted twice, a constant factor, sum/mean and max/min swapped, the
branches of ``np.where`` swapped, off-by-one slices. Only functions the graded parts reach are
mutated, and each mutant is a whole module, ready to be graded like a student's file.
"""

from __future__ import annotations

import ast
import copy
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

Replacement = tuple[str, ast.AST]


@dataclass(frozen=True)
class Scope:
    """What a function has to swap with: its parameters and locals, and its string keys."""

    names: tuple[str, ...]
    keys: tuple[str, ...]


Operator = Callable[[ast.AST, Scope], Iterable[Replacement]]


@dataclass(frozen=True)
class Mutant:
    """One mutated copy of the reference module."""

    function: str
    line: int
    operator: str
    before: str
    after: str
    source: str

    @property
    def label(self) -> str:
        return f"{self.function}, line {self.line}: {self.before}  ->  {self.after}"


_BINOP_SWAPS: dict[type[ast.operator], tuple[type[ast.operator], ...]] = {
    ast.Add: (ast.Sub,),
    ast.Sub: (ast.Add,),
    ast.Mult: (ast.Div, ast.MatMult),
    ast.Div: (ast.Mult,),
    ast.MatMult: (ast.Mult,),
    ast.FloorDiv: (ast.Div,),
    ast.Mod: (ast.Div,),
    ast.Pow: (ast.Mult,),
}
_CMP_SWAPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
}
_FUNC_SWAPS = {"sum": "mean", "mean": "sum", "max": "min", "min": "max",
               "maximum": "minimum", "minimum": "maximum", "argmax": "argmin",
               "argmin": "argmax", "exp": "log", "log": "exp"}


def _binop(node: ast.AST, scope: Scope) -> Iterator[Replacement]:
    if isinstance(node, ast.BinOp):
        for op in _BINOP_SWAPS.get(type(node.op), ()):
            yield "operator swapped", ast.BinOp(node.left, op(), node.right)


def _terms(node: ast.AST, scope: Scope) -> Iterator[Replacement]:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub):
        yield "term dropped", node.left
        right = node.right if isinstance(node.op, ast.Add) else ast.UnaryOp(ast.USub(), node.right)
        yield "term dropped", right
        twice = ast.BinOp(node.right, ast.Add(), copy.deepcopy(node.right))
        yield "term duplicated", ast.BinOp(node.left, node.op, twice)


def _compare(node: ast.AST, scope: Scope) -> Iterator[Replacement]:
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            swap = _CMP_SWAPS.get(type(op))
            if swap is not None:
                ops = [*node.ops[:i], swap(), *node.ops[i + 1:]]
                yield "comparison swapped", ast.Compare(node.left, ops, node.comparators)


def _unary(node: ast.AST, scope: Scope) -> Iterator[Replacement]:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.Not):
        yield "sign dropped", node.operand


def _number(node: ast.AST, scope: Scope) -> Iterator[Replacement]:
    if not isinstance(node, ast.Constant) or type(node.value) not in (int, float):
        return
    v: float = node.value  # type: ignore[assignment]  # int or float, checked above
    for new in (v + 1, v - 1):
        yield "number changed", ast.Constant(new)
    if isinstance(v, float) and v not in (0.0, 1.0):
        for new in (v * 2, v / 2):
            yield "constant factor", ast.Constant(new)


def _axis_values(value: object) -> tuple[int, ...]:
    return {0: (1,), 1: (0,), -1: (0,), -2: (-1,)}.get(value, ()) if type(value) is int else ()


def _call(node: ast.AST, scope: Scope) -> Iterator[Replacement]:
    if not isinstance(node, ast.Call):
        return
    for i, kw in enumerate(node.keywords):
        if kw.arg is None:
            continue
        others = node.keywords[:i] + node.keywords[i + 1:]
        what = {"keepdims": "keepdims dropped", "axis": "axis dropped"}.get(kw.arg,
                                                                         "argument dropped")
        yield what, ast.Call(node.func, node.args, others)
        if kw.arg == "axis" and isinstance(kw.value, ast.Constant):
            for axis in _axis_values(kw.value.value):
                swapped = ast.keyword("axis", ast.Constant(axis))
                yield "axis swapped", ast.Call(node.func, node.args,
                                               [*others[:i], swapped, *others[i:]])
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name in _FUNC_SWAPS:
        new_func: ast.expr = (ast.Attribute(func.value, _FUNC_SWAPS[name], ast.Load())
                              if isinstance(func, ast.Attribute)
                              else ast.Name(_FUNC_SWAPS[name], ast.Load()))
        yield "function swapped", ast.Call(new_func, node.args, node.keywords)
    if name == "where" and len(node.args) == 3:
        a, b, c = node.args
        yield "where branches swapped", ast.Call(func, [a, c, b], node.keywords)


def _transpose(node: ast.AST, scope: Scope) -> Iterator[Replacement]:
    if isinstance(node, ast.Attribute) and node.attr == "T":
        yield "transpose dropped", node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        for side in ("left", "right"):
            operand = getattr(node, side)
            if not (isinstance(operand, ast.Attribute) and operand.attr == "T"):
                t = ast.Attribute(operand, "T", ast.Load())
                parts = {"left": node.left, "right": node.right, side: t}
                yield "transpose added", ast.BinOp(parts["left"], ast.MatMult(), parts["right"])


def _slice(node: ast.AST, scope: Scope) -> Iterator[Replacement]:
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice):
        s = node.slice
        if s.lower is None:
            yield "slice off by one", ast.Subscript(
                node.value, ast.Slice(ast.Constant(1), s.upper, s.step), node.ctx)
        if s.upper is None:
            yield "slice off by one", ast.Subscript(
                node.value, ast.Slice(s.lower, ast.Constant(-1), s.step), node.ctx)


def _scaled(value: ast.expr) -> Iterator[tuple[str, ast.expr]]:
    yield "result negated", ast.UnaryOp(ast.USub(), value)
    yield "result doubled", ast.BinOp(ast.Constant(2.0), ast.Mult(), value)
    yield "result halved", ast.BinOp(value, ast.Div(), ast.Constant(2.0))


def _result(node: ast.AST, scope: Scope) -> Iterator[Replacement]:
    """A returned value negated, doubled or halved: the whole of it, or one value of a dict."""
    if isinstance(node, ast.Return) and node.value is not None \
            and not isinstance(node.value, ast.Dict):
        for what, new in _scaled(node.value):
            yield what, ast.Return(new)
    if isinstance(node, ast.Dict):
        for i, value in enumerate(node.values):
            for what, new in _scaled(value):
                values = [*node.values[:i], new, *node.values[i + 1:]]
                yield what, ast.Dict(node.keys, values)


def _factor(node: ast.AST, scope: Scope) -> Iterator[Replacement]:
    """A factor left out of a product, or a division left out."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        yield "factor dropped", node.left
        yield "factor dropped", node.right
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        yield "division dropped", node.left


def _flag(node: ast.AST, scope: Scope) -> Iterator[Replacement]:
    """True where False belongs and back (cosmic-ray's boolean replacer)."""
    if isinstance(node, ast.Constant) and type(node.value) is bool:
        yield "boolean flipped", ast.Constant(not node.value)


def _arguments(node: ast.AST, scope: Scope) -> Iterator[Replacement]:
    """Two neighbouring positional arguments in the wrong order."""
    if isinstance(node, ast.Call):
        args = node.args
        for i in range(len(args) - 1):
            if ast.dump(args[i]) != ast.dump(args[i + 1]):
                swapped = [*args[:i], args[i + 1], args[i], *args[i + 2:]]
                yield "arguments swapped", ast.Call(node.func, swapped, node.keywords)


_NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.MatMult)


def _operands(node: ast.AST, scope: Scope) -> Iterator[Replacement]:
    """a - b, a / b, a @ b with the operands the other way round."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, _NON_COMMUTATIVE):
        yield "operands swapped", ast.BinOp(node.right, node.op, node.left)


def _look_alike(a: str, b: str) -> bool:
    """Names a hurried reader confuses: the same letters with another number (W1, W2) or the
    same number with other letters (z2, a2)."""
    split = [re.fullmatch(r"([A-Za-z_]*?)(\d+)", n) for n in (a, b)]
    if a == b or split[0] is None or split[1] is None:
        return False
    (la, da), (lb, db) = split[0].groups(), split[1].groups()
    return la == lb or da == db


def _variable(node: ast.AST, scope: Scope) -> Iterator[Replacement]:
    """A parameter or local used where a look-alike belongs (W2 for W1, z2 for a2...)."""
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in scope.names:
        for other in scope.names:
            if _look_alike(node.id, other):
                yield "variable swapped", ast.Name(other, ast.Load())


def _key(node: ast.AST, scope: Scope) -> Iterator[Replacement]:
    """d["z2"] where d["a2"] belongs: another key the same function uses."""
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant) \
            and isinstance(node.slice.value, str):
        for other in scope.keys:
            if other != node.slice.value:
                yield "key swapped", ast.Subscript(node.value, ast.Constant(other), node.ctx)


def _method_dropped(node: ast.AST, scope: Scope) -> Iterator[Replacement]:
    """x.ravel(), x.reshape(...), x.copy() left out."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
            and node.func.attr in ("ravel", "reshape", "flatten", "squeeze", "copy"):
        yield "call dropped", node.func.value


OPERATORS: tuple[Operator, ...] = (
    _binop, _operands, _terms, _factor, _compare, _unary, _number, _flag, _call, _arguments,
    _transpose, _slice, _result, _variable, _key, _method_dropped,
)


def _scope(fn: ast.FunctionDef) -> Scope:
    args = fn.args
    params = [a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]]
    local = [n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)]
    keys = [n.slice.value for n in ast.walk(fn) if isinstance(n, ast.Subscript)
            and isinstance(n.slice, ast.Constant) and isinstance(n.slice.value, str)]
    return Scope(tuple(dict.fromkeys(params + local)), tuple(sorted(set(keys))))


def _reachable(tree: ast.Module, roots: Iterable[str]) -> list[ast.FunctionDef]:
    """The module's functions called, directly or not, from the functions named ``roots``."""
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    todo, seen = [r for r in roots if r in defs], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += [n.id for n in ast.walk(defs[name]) if isinstance(n, ast.Name) and n.id in defs]
    return [f for name, f in defs.items() if name in seen]


def _body_nodes(fn: ast.FunctionDef) -> Iterator[ast.AST]:
    """The nodes of a function that may be mutated: its body (no docstring) and defaults."""
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    for stmt in body:
        yield from ast.walk(stmt)
    for default in [*fn.args.defaults, *fn.args.kw_defaults]:
        if default is not None:
            yield from ast.walk(default)


def _replace(tree: ast.Module, target: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(tree):
        for field, value in ast.iter_fields(parent):
            if value is target:
                setattr(parent, field, new)
                return
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if item is target:
                        value[i] = new
                        return
    raise LookupError("node to mutate not found")


def _compiles(text: str) -> bool:
    try:
        compile(text, "<mutant>", "exec")
    except SyntaxError:
        return False
    return True


def _short(node: ast.AST, width: int = 70) -> str:
    text = ast.unparse(node).replace("\n", " ")
    return text if len(text) <= width else text[: width - 3] + "..."


def mutants(source: str, roots: Iterable[str]) -> list[Mutant]:
    """Every distinct mutant of ``source`` within the functions ``roots`` reach.

    A mutant whose code is the original, or the same as an earlier one, is left out.
    """
    tree = ast.parse(source)
    original = ast.unparse(tree)
    index = {id(n): i for i, n in enumerate(ast.walk(tree))}
    seen = {original}
    out: list[Mutant] = []
    for fn in _reachable(tree, roots):
        scope = _scope(fn)
        for node in _body_nodes(fn):
            for op in OPERATORS:
                for j, (name, replacement) in enumerate(op(node, scope)):
                    mutated = copy.deepcopy(tree)
                    target = list(ast.walk(mutated))[index[id(node)]]
                    new = list(op(target, scope))[j][1]
                    _replace(mutated, target, new)
                    text = ast.unparse(ast.fix_missing_locations(mutated))
                    if text in seen or not _compiles(text):
                        continue
                    seen.add(text)
                    out.append(Mutant(
                        function=fn.name, line=getattr(node, "lineno", fn.lineno),
                        operator=name, before=_short(node), after=_short(replacement),
                        source=text + "\n",
                    ))
    return out


def sample(found: list[Mutant], size: int | None) -> list[Mutant]:
    """``size`` mutants spread evenly over the list (all of them if ``size`` is None)."""
    if size is None or size >= len(found):
        return list(found)
    step = len(found) / size
    return [found[int(i * step)] for i in range(size)]
