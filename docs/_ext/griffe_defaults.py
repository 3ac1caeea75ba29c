"""Griffe extension for the API reference: a parameter whose default is a
module constant (``head=DEFAULT_HEAD``) would show only the constant's name.
Show its value instead (``head=2048``), in the signature and in the parameter
table, so a reader sees what the default is."""

import griffe


def _value(package: griffe.Module, expr) -> str | None:
    if not isinstance(expr, griffe.ExprName):
        return None
    try:
        target = package.modules_collection.get_member(expr.canonical_path)
        while isinstance(target, griffe.Alias):
            target = target.final_target
    except Exception:
        return None
    if not isinstance(target, griffe.Attribute) or target.value is None:
        return None
    value = str(target.value)
    # Only plain literals such as 2048, 2**18, 0.5, "auto" or (100, 1000).
    if len(value) > 40 or not all(c.isalnum() or c in " .*+-_'\"(),[]" for c in value):
        return None
    return value


class ConstantDefaults(griffe.Extension):
    """Write the value for defaults that are module constants."""

    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        self._visit(pkg, pkg, set())

    def _visit(self, package: griffe.Module, obj: griffe.Object, seen: set) -> None:
        if obj.path in seen:
            return
        seen.add(obj.path)
        for member in obj.members.values():
            if member.is_alias:
                continue
            if member.is_function:
                for parameter in member.parameters:
                    value = _value(package, parameter.default)
                    if value is not None and value != str(parameter.default):
                        parameter.default = value
            elif member.is_class or member.is_module:
                self._visit(package, member, seen)
