"""The valid_policy_tree of RFC 5280 6.1.2 (a) and its processing (6.1.3 d-f,
6.1.4 a-b, 6.1.5 g)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from cryptography import x509

from ._model import ANY_POLICY

__all__ = ["MAX_POLICY_NODES", "PolicyTree", "PolicyTreeTooLarge"]

MAX_POLICY_NODES = 4096
"""Bound on tree size: hostile mappings can make the tree grow exponentially."""

Oid = x509.ObjectIdentifier


class PolicyTreeTooLarge(Exception):
    """Internal: the policy tree outgrew :data:`MAX_POLICY_NODES`."""


@dataclass(eq=False)
class _Node:
    valid_policy: Oid
    qualifiers: tuple[object, ...]
    expected: frozenset[Oid]
    parent: _Node | None = None
    children: list[_Node] = field(default_factory=list)


class PolicyTree:
    """A mutable valid_policy_tree, private to one run of path processing."""

    def __init__(self) -> None:
        self.root: _Node | None = _Node(ANY_POLICY, (), frozenset({ANY_POLICY}))
        self._size = 1

    @property
    def is_null(self) -> bool:
        return self.root is None

    def nullify(self) -> None:
        self.root = None

    def level(self, depth: int) -> list[_Node]:
        if self.root is None:
            return []
        nodes = [self.root]
        for _ in range(depth):
            nodes = [c for n in nodes for c in n.children]
        return nodes

    def _add(
        self, parent: _Node, policy: Oid, quals: tuple[object, ...], exp: frozenset[Oid]
    ) -> None:
        self._size += 1
        if self._size > MAX_POLICY_NODES:
            raise PolicyTreeTooLarge
        parent.children.append(_Node(policy, quals, exp, parent))

    def _remove(self, node: _Node) -> None:
        if node.parent is None:
            self.root = None
        else:
            node.parent.children.remove(node)

    def prune(self, depth: int) -> None:
        """Delete nodes above ``depth`` that have no children (6.1.3 d 3)."""
        for d in range(depth - 1, -1, -1):
            for node in self.level(d):
                if not node.children:
                    self._remove(node)
            if self.root is None:
                return

    def process_policies(
        self,
        depth: int,
        policies: Iterable[x509.PolicyInformation],
        any_policy_allowed: bool,
    ) -> None:
        """RFC 5280 6.1.3 (d) for certificate ``depth`` (1-based)."""
        if self.root is None:
            return
        parents = self.level(depth - 1)
        any_quals: tuple[object, ...] | None = None
        for info in policies:
            oid = info.policy_identifier
            quals = tuple(info.policy_qualifiers or ())
            if oid == ANY_POLICY:
                any_quals = quals
                continue
            matched = False
            for parent in parents:
                if oid in parent.expected:
                    self._add(parent, oid, quals, frozenset({oid}))
                    matched = True
            if not matched:
                for parent in parents:
                    if parent.valid_policy == ANY_POLICY:
                        self._add(parent, oid, quals, frozenset({oid}))
        if any_quals is not None and any_policy_allowed:
            for parent in parents:
                present = {c.valid_policy for c in parent.children}
                for oid in sorted(parent.expected - present, key=lambda o: o.dotted_string):
                    self._add(parent, oid, any_quals, frozenset({oid}))
        self.prune(depth)

    def apply_mappings(
        self,
        depth: int,
        mappings: Mapping[Oid, frozenset[Oid]],
        mapping_allowed: bool,
        any_quals: tuple[object, ...] | None,
    ) -> None:
        """RFC 5280 6.1.4 (b): policy mappings of certificate ``depth``."""
        if self.root is None:
            return
        nodes = self.level(depth)
        for issuer_policy, subjects in mappings.items():
            if mapping_allowed:
                found = False
                for node in nodes:
                    if node.valid_policy == issuer_policy:
                        node.expected = subjects
                        found = True
                if not found:
                    for node in nodes:
                        if node.valid_policy == ANY_POLICY and node.parent is not None:
                            if any_quals is not None:
                                self._add(node.parent, issuer_policy, any_quals, subjects)
                            break
            else:
                for node in nodes:
                    if node.valid_policy == issuer_policy:
                        self._remove(node)
                self.prune(depth)
                if self.root is None:
                    return
                nodes = self.level(depth)

    def _anchor_domain_nodes(self) -> list[_Node]:
        """valid_policy_node_set of 6.1.5 (g)(iii)(1): nodes whose parent is anyPolicy
        and whose ancestors are all anyPolicy."""
        out: list[_Node] = []
        stack = [self.root] if self.root is not None else []
        while stack:
            node = stack.pop()
            for child in node.children:
                if child.valid_policy == ANY_POLICY:
                    stack.append(child)
                else:
                    out.append(child)
        return out

    def _any_leaf(self, depth: int) -> _Node | None:
        node = self.root
        for _ in range(depth):
            if node is None:
                return None
            node = next((c for c in node.children if c.valid_policy == ANY_POLICY), None)
        return node

    def policy_set(self, depth: int) -> frozenset[Oid]:
        """The policies of the tree in the anchor's domain (``{anyPolicy}`` when open)."""
        if self.root is None:
            return frozenset()
        found = {n.valid_policy for n in self._anchor_domain_nodes()}
        if self._any_leaf(depth) is not None:
            found.add(ANY_POLICY)
        return frozenset(found)

    def intersect(self, depth: int, user_set: frozenset[Oid]) -> None:
        """RFC 5280 6.1.5 (g): intersect the tree with user-initial-policy-set."""
        if self.root is None or ANY_POLICY in user_set:
            return
        node_set = self._anchor_domain_nodes()
        for node in node_set:
            if node.valid_policy not in user_set:
                self._remove(node)
        any_leaf = self._any_leaf(depth)
        if any_leaf is not None and any_leaf.parent is not None:
            present = {n.valid_policy for n in node_set}
            for oid in sorted(user_set - present, key=lambda o: o.dotted_string):
                self._add(any_leaf.parent, oid, any_leaf.qualifiers, frozenset({oid}))
            self._remove(any_leaf)
        elif any_leaf is not None:
            # depth 0: nothing below the root; the tree meets the user set nowhere.
            self.root = None
            return
        self.prune(depth)
