# Debian packages, one per install component (CPack DEB):
#   exportsync-agent    (agent)    exportsync-agent, exportsyncctl, config, regions, systemd unit
#   exportsync-plugins  (plugins)  the plugins in /usr/lib/exportsync/plugins
#   exportsync-hub      (hub)      exportsync-hub (dashboard built in), config, systemd unit
#   exportsync-sdk-dev  (sdk)      headers, ExportSync::files, CMake package, template, docs
# `cmake --build <build> --target package` writes them to <build>/packages/. Depends come from
# dpkg-shlibdeps (Debian's runtime libraries) plus the few listed here. Maintainer scripts:
# installer/debian/<component>/; units: installer/systemd/. Include this file last from the
# top-level CMakeLists.txt: include(CPack) takes the components declared so far.
#
# The targets' own install() rules live next to them (agent/, central/, plugins/, sdk/); this
# file installs what belongs to no target.

set(ES_PACKAGE_RELEASE 1 CACHE STRING "Debian revision of the packages: VERSION-<this>")
set(ES_PACKAGE_MAINTAINER "ExportSync maintainers <exportsync-maintainers@example.org>"
    CACHE STRING "Maintainer field of the packages")

set(_es_deb ${PROJECT_SOURCE_DIR}/installer/debian)
set(_es_pkg ${PROJECT_BINARY_DIR}/packaging)
set(ES_DEB_VERSION ${PROJECT_VERSION}-${ES_PACKAGE_RELEASE})
set(_es_docdir ${CMAKE_INSTALL_DATAROOTDIR}/doc)
set(_es_mandir ${CMAKE_INSTALL_DATAROOTDIR}/man/man8)

# --- configuration files (conffiles: dpkg keeps the admin's edits on upgrade) ----------------
install(FILES ${PROJECT_SOURCE_DIR}/config/agent.properties
        DESTINATION /etc/exportsync COMPONENT agent)
install(FILES ${PROJECT_SOURCE_DIR}/config/hub.properties
        DESTINATION /etc/exportsync COMPONENT hub)
set(_es_agent_conffiles /etc/exportsync/agent.properties)
# Region overlays (include = regions/MA-NN.properties), whichever exist at build time.
file(GLOB _es_regions CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/config/regions/*.properties)
list(SORT _es_regions)
if(_es_regions)
  install(FILES ${_es_regions} DESTINATION /etc/exportsync/regions COMPONENT agent)
  foreach(_f IN LISTS _es_regions)
    get_filename_component(_n ${_f} NAME)
    list(APPEND _es_agent_conffiles /etc/exportsync/regions/${_n})
  endforeach()
endif()
list(JOIN _es_agent_conffiles "\n" _es_text)
file(WRITE ${_es_pkg}/agent/conffiles "${_es_text}\n")
file(WRITE ${_es_pkg}/hub/conffiles "/etc/exportsync/hub.properties\n")

# --- systemd units, the plugin folder, dashboard assets ----------------------------------------
install(FILES ${PROJECT_SOURCE_DIR}/installer/systemd/exportsync-agent.service
        DESTINATION /lib/systemd/system COMPONENT agent)
install(FILES ${PROJECT_SOURCE_DIR}/installer/systemd/exportsync-hub.service
        DESTINATION /lib/systemd/system COMPONENT hub)
# plugins.dir must exist for the agent to start, plugins or not: both packages own it.
install(DIRECTORY DESTINATION lib/exportsync/plugins COMPONENT agent)
# The dashboard's static files, whatever central/web/ holds, unless the hub embeds them in its
# binary (es_embed_directory in central/CMakeLists.txt: then it serves its own copy).
file(GLOB_RECURSE _es_web CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/central/web/*)
set(_es_web_embedded OFF)
if(TARGET es_central_core)
  get_target_property(_es_central_sources es_central_core SOURCES)
  if(_es_central_sources MATCHES "web_assets")
    set(_es_web_embedded ON)
  endif()
endif()
if(_es_web AND NOT _es_web_embedded)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/central/web/
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/exportsync-hub/web COMPONENT hub)
endif()

# --- SDK extras: plugin template and author docs, if present -----------------------------------
if(EXISTS ${PROJECT_SOURCE_DIR}/sdk/template)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/template/
          DESTINATION ${CMAKE_INSTALL_DATAROOTDIR}/exportsync-sdk/template COMPONENT sdk)
endif()
foreach(_doc plugin-guide.md datasets.md protocol.md)
  if(EXISTS ${PROJECT_SOURCE_DIR}/docs/${_doc})
    install(FILES ${PROJECT_SOURCE_DIR}/docs/${_doc}
            DESTINATION ${_es_docdir}/exportsync-sdk-dev COMPONENT sdk)
  endif()
endforeach()
if(EXISTS ${PROJECT_SOURCE_DIR}/docs/plugins)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/docs/plugins/
          DESTINATION ${_es_docdir}/exportsync-sdk-dev/plugins COMPONENT sdk)
endif()

# --- per package: copyright, changelog, manual pages, operations guide -------------------------
# Debian wants the changelog and manual pages compressed with gzip -9n (no name, no time).
string(TIMESTAMP ES_PACKAGE_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
configure_file(${_es_deb}/copyright.in ${_es_pkg}/copyright @ONLY)
configure_file(${_es_deb}/changelog.in ${_es_pkg}/changelog.Debian @ONLY)
set(_es_gz_outputs)
function(_es_gzip in out)
  add_custom_command(OUTPUT ${out}
    COMMAND gzip -9nc ${in} > ${out}
    DEPENDS ${in}
    COMMENT "Compressing ${out}" VERBATIM)
  set(_es_gz_outputs ${_es_gz_outputs} ${out} PARENT_SCOPE)
endfunction()
_es_gzip(${_es_pkg}/changelog.Debian ${_es_pkg}/changelog.Debian.gz)
foreach(_page exportsync-agent exportsyncctl exportsync-hub)
  _es_gzip(${_es_deb}/man/${_page}.8 ${_es_pkg}/${_page}.8.gz)
endforeach()
add_custom_target(es_package_files ALL DEPENDS ${_es_gz_outputs})

foreach(_comp agent plugins hub sdk)
  if(_comp STREQUAL "sdk")
    set(_name exportsync-sdk-dev)
  else()
    set(_name exportsync-${_comp})
  endif()
  install(FILES ${_es_pkg}/copyright ${_es_pkg}/changelog.Debian.gz
          DESTINATION ${_es_docdir}/${_name} COMPONENT ${_comp})
endforeach()
install(FILES ${_es_pkg}/exportsync-agent.8.gz ${_es_pkg}/exportsyncctl.8.gz
        DESTINATION ${_es_mandir} COMPONENT agent)
install(FILES ${_es_pkg}/exportsync-hub.8.gz DESTINATION ${_es_mandir} COMPONENT hub)
if(EXISTS ${PROJECT_SOURCE_DIR}/docs/operations.md)
  install(FILES ${PROJECT_SOURCE_DIR}/docs/operations.md
          DESTINATION ${_es_docdir}/exportsync-agent COMPONENT agent)
  install(FILES ${PROJECT_SOURCE_DIR}/docs/operations.md
          DESTINATION ${_es_docdir}/exportsync-hub COMPONENT hub)
endif()

# --- CPack -------------------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME exportsync)
set(CPACK_PACKAGE_VENDOR "ExportSync")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${ES_PACKAGE_MAINTAINER}")
# Empty: each package's synopsis is the first line of its component description below (CPack
# would otherwise put the project's one-line description in front of every package's).
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "")
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/packages)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL agent plugins hub sdk)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${ES_PACKAGE_RELEASE})
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${ES_PACKAGE_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_SOURCE exportsync)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_AGENT_PACKAGE_NAME exportsync-agent)
set(CPACK_DEBIAN_AGENT_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_AGENT_PACKAGE_RECOMMENDS "exportsync-plugins")
set(CPACK_DEBIAN_AGENT_PACKAGE_CONTROL_EXTRA
    "${_es_pkg}/agent/conffiles;${_es_deb}/agent/postinst;${_es_deb}/agent/prerm;${_es_deb}/agent/postrm")
set(CPACK_COMPONENT_AGENT_DESCRIPTION
    "ExportSync regional agent: collects exporter data and syncs it to the hub
The agent of a regional foreign-trade office: it runs the plugins the region
enables, keeps what they collect in a local SQLite store that works offline,
and sends every change, compressed and exactly once, to the central hub. This
package holds the exportsync-agent service (systemd, hardened, its own
user), the exportsyncctl tool and the default configuration.")

set(CPACK_DEBIAN_PLUGINS_PACKAGE_NAME exportsync-plugins)
set(CPACK_DEBIAN_PLUGINS_PACKAGE_DEPENDS "exportsync-agent (>= ${PROJECT_VERSION})")
set(CPACK_DEBIAN_PLUGINS_PACKAGE_CONTROL_EXTRA "${_es_deb}/plugins/postinst")
set(CPACK_COMPONENT_PLUGINS_DESCRIPTION
    "ExportSync plugins: the regional exporter data collectors
The plugins the ExportSync agent loads from /usr/lib/exportsync/plugins, one
per kind of exporter data; each region enables those that fit it in its
overlay (/etc/exportsync/regions/MA-NN.properties).")

set(CPACK_DEBIAN_HUB_PACKAGE_NAME exportsync-hub)
set(CPACK_DEBIAN_HUB_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_HUB_PACKAGE_CONTROL_EXTRA
    "${_es_pkg}/hub/conffiles;${_es_deb}/hub/postinst;${_es_deb}/hub/prerm;${_es_deb}/hub/postrm")
set(CPACK_COMPONENT_HUB_DESCRIPTION
    "ExportSync central hub: receives every regional office's data
The hub of the central Secretariat: it enrols the regional agents, applies
their changes exactly once to its SQLite central store, and serves the admin
API, the metrics and the dashboard. This package holds the exportsync-hub
service (systemd, hardened, its own user) and its default configuration.")

set(CPACK_DEBIAN_SDK_PACKAGE_NAME exportsync-sdk-dev)
set(CPACK_DEBIAN_SDK_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_SDK_PACKAGE_DEPENDS "libpoco-dev (>= 1.11), libssl-dev (>= 3)")
set(CPACK_DEBIAN_SDK_PACKAGE_SUGGESTS "cmake (>= 3.25), g++")
set(CPACK_COMPONENT_SDK_DESCRIPTION
    "ExportSync SDK: write plugins for the ExportSync agent
Headers of the plugin ABI and its C++ layer, the office-file reading kit
(ExportSync::files: CSV, XLSX, inbox), the CMake package ExportSyncSDK
(find_package(ExportSyncSDK); exportsync_add_plugin()), a plugin template
and the plugin author's guide.")

include(CPack)
