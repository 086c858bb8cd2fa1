#ifndef LOLPIM_CZMQ_SHIM_H
#define LOLPIM_CZMQ_SHIM_H
#include <zmq.h>
#endif
