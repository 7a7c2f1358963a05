"""API parity: does one callable accept every call another accepts?"""

from __future__ import annotations

import inspect

__all__ = ["signature_problems"]

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
