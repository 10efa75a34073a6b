/* flext_kernel._speedups: the optional compiled storage of a FlextResult success.
 *
 * Why C: a pure-Python immutable class pays for its guard on every construction
 * (a __setattr__ override turns off the interpreter's fast slot store, so the value
 * is written through a descriptor call or a class swap). A C type stores the value
 * in tp_new and refuses every later write in tp_setattro, so building a success
 * runs no Python frame at all. result.py uses this type when it imports, and its
 * pure-Python twin otherwise (no compiler needed to install FLEXT);
 * docs/kernel/result.md, "Compiled storage".
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    PyObject *value;
} SuccessStorage;

static PyObject *
storage_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    PyObject *value;
    if (kwds == NULL && PyTuple_GET_SIZE(args) == 1) {
        value = PyTuple_GET_ITEM(args, 0);
    }
    else {
        static char *keywords[] = {"value", NULL};
        if (!PyArg_ParseTupleAndKeywords(args, kwds, "O:Success", keywords, &value)) {
            return NULL;
        }
    }
    SuccessStorage *self = (SuccessStorage *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    Py_INCREF(value);
    self->value = value;
    return (PyObject *)self;
}

static int
storage_traverse(SuccessStorage *self, visitproc visit, void *arg)
{
    Py_VISIT(self->value);
    return 0;
}

static int
storage_clear(SuccessStorage *self)
{
    Py_CLEAR(self->value);
    return 0;
}

static void
storage_dealloc(SuccessStorage *self)
{
    PyObject_GC_UnTrack(self);
    /* The trashcan bounds the C stack when a long chain of results (each holding the next) goes. */
    Py_TRASHCAN_BEGIN(self, storage_dealloc)
    storage_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
    Py_TRASHCAN_END
}

static int
storage_setattro(PyObject *self, PyObject *name, PyObject *value)
{
    PyErr_Format(PyExc_AttributeError, "FlextResult is immutable; cannot %s %R",
                 value == NULL ? "delete" : "set", name);
    return -1;
}

static PyMemberDef storage_members[] = {
    {"value", T_OBJECT_EX, offsetof(SuccessStorage, value), READONLY, "The success value."},
    {NULL},
};

static PyTypeObject SuccessStorageType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "flext_kernel._speedups.SuccessStorage",
    /* The first line is the text signature inspect.signature and help() read. */
    .tp_doc = PyDoc_STR("SuccessStorage(value)\n--\n\nThe storage of a success: one value, set when built, never again."),
    .tp_basicsize = sizeof(SuccessStorage),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = storage_new,
    .tp_traverse = (traverseproc)storage_traverse,
    .tp_clear = (inquiry)storage_clear,
    .tp_dealloc = (destructor)storage_dealloc,
    .tp_setattro = storage_setattro,
    .tp_members = storage_members,
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "flext_kernel._speedups",
    .m_doc = "Optional compiled parts of flext_kernel (see result.py).",
    .m_size = -1,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    if (PyType_Ready(&SuccessStorageType) < 0) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&speedups_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&SuccessStorageType);
    if (PyModule_AddObject(module, "SuccessStorage", (PyObject *)&SuccessStorageType) < 0) {
        Py_DECREF(&SuccessStorageType);
        Py_DECREF(module);
        return NULL;
    }
    PyObject *exported = Py_BuildValue("[s]", "SuccessStorage");
    if (exported == NULL || PyModule_AddObject(module, "__all__", exported) < 0) {
        Py_XDECREF(exported);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
