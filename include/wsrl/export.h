/**
 * @file wsrl/export.h
 * @brief Symbol visibility for the public API (WSRL_API).
 *
 * Building libwsrl defines WSRL_BUILDING; a consumer never does. On Windows the
 * same header yields dllexport while building and dllimport when consuming.
 */
#ifndef WSRL_EXPORT_H
#define WSRL_EXPORT_H

/* Each macro can be predefined (e.g. empty, for an FFI parser such as
 * cffi's cdef, which reads plain C declarations only). */
#ifndef WSRL_API
#  if defined(_WIN32) || defined(__CYGWIN__)
#    if defined(WSRL_STATIC)
#      define WSRL_API
#    elif defined(WSRL_BUILDING)
#      define WSRL_API __declspec(dllexport)
#    else
#      define WSRL_API __declspec(dllimport)
#    endif
#  elif defined(__GNUC__) || defined(__clang__)
#    define WSRL_API __attribute__((visibility("default")))
#  else
#    define WSRL_API
#  endif
#endif

#ifndef WSRL_BEGIN_DECLS
#  ifdef __cplusplus
#    define WSRL_BEGIN_DECLS extern "C" {
#  else
#    define WSRL_BEGIN_DECLS
#  endif
#endif
#ifndef WSRL_END_DECLS
#  ifdef __cplusplus
#    define WSRL_END_DECLS }
#  else
#    define WSRL_END_DECLS
#  endif
#endif

#endif /* WSRL_EXPORT_H */
