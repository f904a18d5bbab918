/**
 * @file wsrl/wsrl.h
 * @brief Umbrella header: include this one.
 */
/**
 * @mainpage libwsrl API reference
 *
 * libwsrl is an embeddable C11 library for warm-start reinforcement
 * learning (WSRL, Zhou et al., ICLR 2025) on oneDNN. Include wsrl/wsrl.h;
 * link with `pkg-config --libs wsrl`.
 *
 * - wsrl/status.h: status codes and the per-thread last-error message.
 * - wsrl/log.h: log handler and allocator hooks.
 * - wsrl/config.h: typed configuration keys (docs/config.md lists them).
 * - wsrl/env.h: the host's simulator or robot behind callbacks.
 * - wsrl/replay.h: replay buffers and offline datasets (native, HDF5).
 * - wsrl/qensemble.h: the ensemble of Q critics.
 * - wsrl/agent.h: the learning agent (SAC-ensemble, CQL, Cal-QL, IQL).
 * - wsrl/train.h: pretraining, the fine-tuning session, evaluation.
 * - wsrl/policy.h: immutable policy snapshots for acting beside training.
 * - wsrl/version.h: header and library versions.
 *
 * Every function states its parameters, return statuses, ownership, NULL
 * handling and thread-safety (docs/threading.md has the whole contract;
 * docs/api-stability.md the ABI rules).
 */
#ifndef WSRL_WSRL_H
#define WSRL_WSRL_H

#include "export.h"
#include <wsrl/version.h>
#include "status.h"
#include "log.h"
#include "config.h"
#include "env.h"
#include "replay.h"
#include "qensemble.h"
#include "agent.h"
#include "train.h"
#include "policy.h"
#include "layout.h"

#endif /* WSRL_WSRL_H */
