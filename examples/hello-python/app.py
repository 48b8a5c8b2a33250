"""Hello from Python: a Greenroom plugin written against the WIT contract.

No SDK: `wit_world` is the module componentize-py generates from
`wit/since_v0.1.0`, and `WitWorld` below implements its four exports. It
draws a home widget that counts its views in storage, an entity card that
lists what else the entity's owner owns (read through the brokered
catalog), and answers `GET /api/plugins/hello-python/views` with JSON.

A host import that fails raises `componentize_py_types.Err` holding a
`HostError_*` value; a plugin error is raised the same way, holding a
`PluginError_*` value.
"""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import catalog, storage
from wit_world.imports import greenroom_plugin_types as types
from wit_world.imports import view as v

# Other entities the entity card lists, at most.
SHOWN_ENTITIES = 5


class View:
    """Builds the flat node list the contract calls a view: each node names
    its children by index, and children come after their parent."""

    def __init__(self):
        self.nodes = []

    def add(self, kind, parent=None):
        index = len(self.nodes)
        self.nodes.append(v.Node(kind=kind, children=[]))
        if parent is not None:
            self.nodes[parent].children.append(index)
        return index

    def card(self, title, parent=None):
        return self.add(v.NodeKind_Card(v.Card(title=title, subtitle=None)), parent)

    def text(self, text, parent, tone=v.Tone.NEUTRAL, emphasis=v.Emphasis.NORMAL):
        return self.add(v.NodeKind_Text(v.Text(text=text, tone=tone, emphasis=emphasis)), parent)

    def stat(self, label, value, parent):
        stat = v.Stat(label=label, value=str(value), unit=None, delta=None, tone=v.Tone.NEUTRAL)
        return self.add(v.NodeKind_Stat(stat), parent)

    def badge(self, label, tone, parent):
        return self.add(v.NodeKind_Badge(v.Badge(label=label, tone=tone)), parent)

    def bullet_list(self, parent):
        return self.add(v.NodeKind_List(v.ListSpec(ordered=False)), parent)

    def link(self, label, href, parent):
        return self.add(v.NodeKind_Link(v.Link(label=label, href=href)), parent)

    def build(self):
        return v.View(nodes=self.nodes)


def fail(error):
    """Raises a plugin error: the host shows it in the slot's error card."""
    raise Err(error)


class WitWorld(wit_world.WitWorld):
    def render(self, slot, context):
        if slot.kind == types.SlotKind.HOME_WIDGET:
            return home_widget(context)
        if slot.kind == types.SlotKind.ENTITY_CARD:
            return entity_card(context)
        fail(types.PluginError_Unsupported(f"hello-python has no slot `{slot.name}`"))

    def action(self, name, fields, context):
        fail(types.PluginError_Unsupported(f"hello-python has no action `{name}`"))

    def handle(self, request):
        if request.method == types.Method.GET and request.path == "views":
            views = storage.get("views/home")
            body = {"home": int(views.decode()) if views else 0, "language": "python"}
            return json_response(200, body)
        return json_response(404, {"error": f"no route {request.path}"})

    def run_task(self, name):
        fail(types.PluginError_Unsupported(f"hello-python has no task `{name}`"))


def home_widget(context):
    views = storage.increment("views/home", 1)
    view = View()
    card = view.card("Hello from Python")
    view.text(f"Hello, {context.user.display_name}!", card, emphasis=v.Emphasis.STRONG)
    view.stat("Views of this widget", views, card)
    view.text("Drawn by a plugin written in Python.", card, emphasis=v.Emphasis.MUTED)
    return view.build()


def entity_card(context):
    entity = context.entity
    if entity is None:
        fail(types.PluginError_InvalidInput("an entity card needs an entity"))
    view = View()
    card = view.card(f"{entity.name}, from Python")
    if entity.owner is None:
        view.text("Nobody owns this yet.", card)
        return view.build()
    try:
        page = catalog.query_entities(
            catalog.Query(
                filter=[[catalog.FilterCondition(key="relations.ownedBy", values=[entity.owner])]],
                full_text=None,
                order=None,
                limit=SHOWN_ENTITIES + 1,
                cursor=None,
            )
        )
    except Err as err:
        # Show a refusal in the card rather than failing it: the rest of
        # the card is still worth drawing.
        if isinstance(err.value, types.HostError_Denied):
            view.badge("denied", v.Tone.DANGER, card)
            view.text(f"The catalog said no: {err.value.value}", card, emphasis=v.Emphasis.MUTED)
            return view.build()
        raise
    others = [e for e in page.items if e.ref != entity.ref][:SHOWN_ENTITIES]
    view.text(f"{entity.owner} owns {page.total} entities, including:", card)
    items = view.bullet_list(card)
    for other in others:
        href = f"/catalog/{other.namespace}/{other.kind.lower()}/{other.name}"
        view.link(other.name, href, items)
    return view.build()


def json_response(status, body):
    return types.Response(
        status=status,
        headers=[("content-type", "application/json")],
        body=json.dumps(body).encode(),
    )
