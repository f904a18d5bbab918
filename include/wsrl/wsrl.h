/**
 * @file wsrl/wsrl.h
 * @brief Umbrella header: include this one.
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

#endif /* WSRL_WSRL_H */
