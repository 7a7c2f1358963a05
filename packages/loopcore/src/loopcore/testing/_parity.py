"""API parity: does one callable accept every call another accepts?"""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
from types import ModuleType

from loopcore import _build

__all__ = ["signature_problems", "source_object", "source_signature"]

_P = inspect.Parameter
_POSITIONAL = (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)


def signature_problems(ref: inspect.Signature, ours: inspect.Signature) -> list[str]:
    """Why a call that the signature *ref* accepts could fail on *ours*; empty when
    none can.

    *ours* accepts every call *ref* does when it has the same positional parameters
    in the same order (a positional-only one may be renamed), every keyword name of
    *ref*, the same defaults, and no extra parameter without a default (extra ones
    with defaults are allowed: the 3.4 ``loop=`` keyword, for one). A parameter
    named ``self`` is ignored on both sides, so unbound methods compare as well.

    Each problem is one line naming the parameter, for an assertion message::

        assert signature_problems(inspect.signature(asyncio.sleep),
                                  inspect.signature(loopcore.sleep)) == []
    """
    problems: list[str] = []
    ref_params = [p for p in ref.parameters.values() if p.name != "self"]
    our_params = [p for p in ours.parameters.values() if p.name != "self"]
    our_by_name = {p.name: p for p in our_params}
    our_positional = [p for p in our_params if p.kind in _POSITIONAL]
    our_var_pos = any(p.kind is _P.VAR_POSITIONAL for p in our_params)
    our_var_kw = any(p.kind is _P.VAR_KEYWORD for p in our_params)
    ref_positional = [p for p in ref_params if p.kind in _POSITIONAL]
    for index, p in enumerate(ref_positional):
        if index >= len(our_positional):
            if not our_var_pos:
                problems.append(f"positional parameter {p.name!r} (#{index}) is missing")
            continue
        mine = our_positional[index]
        if p.kind is _P.POSITIONAL_OR_KEYWORD and (
            mine.name != p.name or mine.kind is not _P.POSITIONAL_OR_KEYWORD
        ):
            problems.append(
                f"parameter #{index} is {mine.name!r} ({mine.kind.description}),"
                f" the reference has {p.name!r} ({p.kind.description})"
            )
    for p in ref_params:
        if p.kind is _P.VAR_POSITIONAL and not our_var_pos:
            problems.append(f"*{p.name} is missing")
        elif p.kind is _P.VAR_KEYWORD and not our_var_kw:
            problems.append(f"**{p.name} is missing")
        elif p.kind is _P.KEYWORD_ONLY:
            named = our_by_name.get(p.name)
            if named is None:
                if not our_var_kw:
                    problems.append(f"keyword-only parameter {p.name!r} is missing")
                continue
            if named.kind not in (_P.KEYWORD_ONLY, _P.POSITIONAL_OR_KEYWORD):
                problems.append(f"{p.name!r} cannot be passed by keyword")
    for p in ref_params:
        if p.default is _P.empty or p.kind in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD):
            continue
        same = our_by_name.get(p.name)
        if same is None and p.kind is _P.POSITIONAL_ONLY:
            index = ref_positional.index(p)
            same = our_positional[index] if index < len(our_positional) else None
        if same is None:
            continue
        if same.default is _P.empty:
            problems.append(f"{p.name!r} has no default, the reference's is {p.default!r}")
        elif same.default != p.default:
            problems.append(
                f"{p.name!r} defaults to {same.default!r}, the reference's to {p.default!r}"
            )
    ref_names = {p.name for p in ref_params}
    for mine in our_params:
        if mine.kind in (_P.VAR_POSITIONAL, _P.VAR_KEYWORD) or mine.default is not _P.empty:
            continue
        if mine.name in ref_names:
            continue
        if mine.kind in _POSITIONAL and our_positional.index(mine) < len(ref_positional):
            continue  # a renamed positional-only parameter, checked above
        problems.append(f"extra parameter {mine.name!r} has no default")
    return problems


# The compiled modules whose source source_signature() ran, by module name.
_SOURCE_MODULES: dict[str, ModuleType] = {}


def _source_module(name: str) -> ModuleType | None:
    """The ``.py`` source of module *name* run as a separate module, or None when
    *name* is not a compiled module (or its source is not beside it)."""
    module = sys.modules.get(name)
    if module is None or not _build.is_compiled(getattr(module, "__file__", None)):
        return None
    source_module = _SOURCE_MODULES.get(name)
    if source_module is None:
        assert module.__file__ is not None
        package, _, leaf = name.rpartition(".")
        path = os.path.join(os.path.dirname(module.__file__), leaf + ".py")
        if not os.path.isfile(path):
            return None
        # Named inside the package, so that its relative imports find the package's
        # real modules; never put in sys.modules.
        spec = importlib.util.spec_from_file_location(f"{package}._source_of_{leaf}", path)
        if spec is None or spec.loader is None:
            return None
        source_module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(source_module)
        _SOURCE_MODULES[name] = source_module
    return source_module


def source_signature(owner: object, name: str | None = None) -> inspect.Signature:
    """The signature of ``owner.name`` (of *owner* itself when *name* is None) as
    its source declares it.

    In the pure-Python build this is :func:`inspect.signature`. In the compiled build
    (:data:`loopcore.COMPILED`) mypyc records no signature for compiled ``async def``
    functions (:func:`inspect.signature` reads ``()`` or fails), so for a name defined
    in a compiled module it is read from :func:`source_object`.

    *owner* may be a class, an instance (the signature is then the bound method's,
    without ``self``) or a module-level function or class (with *name* None).

    :raises AttributeError: if *owner* has no attribute *name*.
    :raises ValueError: if no signature can be found (as :func:`inspect.signature`).
    """
    target = owner if name is None else getattr(owner, name)
    found = _source_definition(owner, name)
    if found is None:
        return inspect.signature(target)  # type: ignore[arg-type]
    source_owner, attr = found
    declared = inspect.getattr_static(source_owner, attr)
    signature = inspect.signature(getattr(source_owner, attr))
    if name is not None and not isinstance(owner, type) and inspect.isfunction(declared):
        # A method looked up on an instance: bound, without its first parameter.
        parameters = list(signature.parameters.values())[1:]
        signature = signature.replace(parameters=parameters)
    return signature


def source_object(owner: object, name: str | None = None) -> object:
    """``owner.name`` (*owner* itself when *name* is None) as its ``.py`` source
    defines it: to read what the source declares (``__doc__``, ``__slots__``).

    In the pure-Python build this is ``getattr(owner, name)`` (or *owner*). In the
    compiled build (:data:`loopcore.COMPILED`), for a class or function defined in
    a compiled module, it is the object of the same qualified name in that module's
    ``.py`` source, which the compiled wheel holds beside the extension module and
    which the compiled code was built from: the first call runs that source once
    more as a separate module. mypyc's classes and functions have no docstring, and
    its classes no ``__slots__`` (their attributes are descriptors of the native
    layout); the source's objects have both. They are copies: not the classes the
    loop uses (``isinstance`` against them fails), nor to be called.

    *owner* may be a class, an instance or a module-level function or class (with
    *name* None); ``owner.name`` is looked up on the class (of an instance), so a
    method is returned as a function, not bound.

    :raises AttributeError: if *owner*'s class has no attribute *name*.
    """
    if name is None:
        target = owner
    else:
        target = getattr(owner if isinstance(owner, type) else type(owner), name)
    found = _source_definition(owner, name)
    if found is None:
        return target
    source_owner, attr = found
    return getattr(source_owner, attr)


def _source_definition(owner: object, name: str | None) -> tuple[object, str] | None:
    """Where the source defines ``owner.name``: the source copy of its owner (a
    module or class) and the attribute name there; None when it is not defined in a
    compiled module (the object itself is then its source's)."""
    if name is None:
        module_name = getattr(owner, "__module__", None)
        qualname = getattr(owner, "__qualname__", None)
    else:
        cls = owner if isinstance(owner, type) else type(owner)
        definer = next((k for k in cls.__mro__ if name in vars(k)), None)
        module_name = None if definer is None else definer.__module__
        qualname = None if definer is None else f"{definer.__qualname__}.{name}"
    source_module = None if module_name is None else _source_module(module_name)
    if source_module is None or qualname is None:
        return None
    *owner_path, attr = qualname.split(".")
    source_owner: object = source_module
    for part in owner_path:
        source_owner = getattr(source_owner, part)
    return source_owner, attr
