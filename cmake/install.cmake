# What `cmake --install` puts where (GNUInstallDirs; docs/install.md has
# the same table for people).  Relative destinations, so that
# `cmake --install build --prefix P` fills P alone; Debian's build
# (debian/rules) configures with prefix /usr and sysconfdir /etc.
#
#   sbin/xenosd                          the daemon
#   bin/xenosctl, bin/xenos-usage        its client; the ledger's reader
#   bin/xenos-sim, bin/xenos-simhost     the simulator; the simulated host
#   etc/xenos/xenosd.conf                xenosd's options, all commented
#   lib/systemd/system/xenosd.service    the unit (XENOS_SYSTEMDUNITDIR)
#   lib/systemd/system/xenos-ship.service  the ledger's shipper (with libpq)
#   lib/sysusers.d/xenos.conf            the group xenos
#   lib/tmpfiles.d/xenos.conf            /var/lib/xenos
#   share/man/man{1,5,8}/                a page for every program, the config
#   share/xenos/usage.proto              the usage ledger's schema
#   share/xenos/python/                  its Python reader, xenos_usage.py,
#                                        and protoc's usage_pb2.py
#   share/xenos/scenarios/               the simulator's scenarios
#   share/xenos/monitoring/              Prometheus rules, Grafana dashboard
#   share/doc/xenos/                     docs/; examples/tenants.yaml
#   include/xenos/                       sched.h, host.h, policies.def
#   share/xenos/sched/                   the policies' sources (researchers)
#
# Components, for the Debian packages (debian/*.install list the same
# paths): daemon (xenos), sim (xenos-sim), dev (xenos-dev).

set(XENOS_SYSTEMDUNITDIR "lib/systemd/system" CACHE STRING
    "Where the systemd unit goes (Debian 12: /lib/systemd/system)")
set(XENOS_SYSUSERSDIR "lib/sysusers.d" CACHE STRING
    "Where the sysusers.d file goes")
set(XENOS_TMPFILESDIR "lib/tmpfiles.d" CACHE STRING
    "Where the tmpfiles.d file goes")
set(XENOS_DATADIR ${CMAKE_INSTALL_DATADIR}/xenos)

install(TARGETS xenosd DESTINATION ${CMAKE_INSTALL_SBINDIR}
        COMPONENT daemon)
install(TARGETS xenosctl DESTINATION ${CMAKE_INSTALL_BINDIR}
        COMPONENT daemon)
if(TARGET xenos-usage)
  install(TARGETS xenos-usage DESTINATION ${CMAKE_INSTALL_BINDIR}
          COMPONENT daemon)
endif()
install(TARGETS xenos-sim xenos-simhost DESTINATION ${CMAKE_INSTALL_BINDIR}
        COMPONENT sim)

# A unit names the installed paths: those of this configuration, put in
# place of the Debian paths it is written with, so a /usr/local build
# starts /usr/local/sbin/xenosd with /usr/local/etc/xenos/xenosd.conf.
function(xenos_install_unit src)
  get_filename_component(name ${src} NAME)
  file(READ ${PROJECT_SOURCE_DIR}/${src} unit)
  string(REPLACE "/usr/sbin/" "${CMAKE_INSTALL_FULL_SBINDIR}/" unit "${unit}")
  string(REPLACE "/usr/bin/" "${CMAKE_INSTALL_FULL_BINDIR}/" unit "${unit}")
  string(REPLACE "/etc/xenos/" "${CMAKE_INSTALL_FULL_SYSCONFDIR}/xenos/"
         unit "${unit}")
  string(REPLACE "/usr/share/doc/xenos/" "${CMAKE_INSTALL_FULL_DOCDIR}/"
         unit "${unit}")
  file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/${name} CONTENT "${unit}")
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
               ${PROJECT_SOURCE_DIR}/${src})
  install(FILES ${PROJECT_BINARY_DIR}/${name}
          DESTINATION ${XENOS_SYSTEMDUNITDIR} COMPONENT daemon)
endfunction()
xenos_install_unit(xenosd/systemd/xenosd.service)
# The shipper's unit, with the shipper (xenos-usage built with libpq).
if(XENOS_HAVE_SHIP)
  xenos_install_unit(exporter/systemd/xenos-ship.service)
endif()
install(FILES xenosd/systemd/sysusers.conf DESTINATION ${XENOS_SYSUSERSDIR}
        RENAME xenos.conf COMPONENT daemon)
install(FILES xenosd/systemd/tmpfiles.conf DESTINATION ${XENOS_TMPFILESDIR}
        RENAME xenos.conf COMPONENT daemon)
install(FILES xenosd/xenosd.conf
        DESTINATION ${CMAKE_INSTALL_SYSCONFDIR}/xenos COMPONENT daemon)

# Man pages (hand-written roff, docs/man/; tests/man_check keeps them true
# to each program's --help), by their section.
file(GLOB XENOS_MAN_PAGES ${PROJECT_SOURCE_DIR}/docs/man/*.[158])
foreach(page ${XENOS_MAN_PAGES})
  get_filename_component(name ${page} NAME)
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" sect ${name})
  if(name MATCHES "^xenos-sim")
    set(comp sim)
  else()
    set(comp daemon)
  endif()
  install(FILES ${page} DESTINATION ${CMAKE_INSTALL_MANDIR}/man${sect}
          COMPONENT ${comp})
endforeach()

install(FILES exporter/usage.proto DESTINATION ${XENOS_DATADIR}
        COMPONENT daemon)
if(TARGET xenos_usage_py)
  install(FILES ${XENOS_USAGE_PY_DIR}/xenos_usage.py
                ${XENOS_USAGE_PY_DIR}/usage_pb2.py
          DESTINATION ${XENOS_DATADIR}/python COMPONENT daemon)
endif()
install(DIRECTORY monitoring/ DESTINATION ${XENOS_DATADIR}/monitoring
        COMPONENT daemon)
install(DIRECTORY sched/sim/scenarios/ DESTINATION ${XENOS_DATADIR}/scenarios
        COMPONENT sim)
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}
        COMPONENT daemon PATTERN man EXCLUDE)
install(FILES policies/examples/tenants.yaml
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples COMPONENT daemon)

# For researchers: the framework's headers and the policies as sources
# (a policy is one file against sched.h and host.h; docs/schedulers.md).
install(FILES sched/include/xenos/sched.h sched/include/xenos/host.h
              sched/include/xenos/policies.def
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/xenos COMPONENT dev)
install(DIRECTORY sched/policies sched/hosted sched/null
        DESTINATION ${XENOS_DATADIR}/sched COMPONENT dev)
install(FILES sched/registry.c DESTINATION ${XENOS_DATADIR}/sched
        COMPONENT dev)
