/**
 * @file wsrl/export.h
 * @brief Symbol visibility for the public API (WSRL_API).
 *
 * Building libwsrl defines WSRL_BUILDING; a consumer never does. On Windows the
 * same header yields dllexport while building and dllimport when consuming.
 */
#ifndef WSRL_EXPORT_H
#define WSRL_EXPORT_H

#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(WSRL_STATIC)
#    define WSRL_API
#  elif defined(WSRL_BUILDING)
#    define WSRL_API __declspec(dllexport)
#  else
#    define WSRL_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define WSRL_API __attribute__((visibility("default")))
#else
#  define WSRL_API
#endif

#ifdef __cplusplus
#  define WSRL_BEGIN_DECLS extern "C" {
#  define WSRL_END_DECLS }
#else
#  define WSRL_BEGIN_DECLS
#  define WSRL_END_DECLS
#endif

#endif /* WSRL_EXPORT_H */
